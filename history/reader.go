package history

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrTornTail is wrapped by the error of a history whose final line was cut off mid-write (no newline, and not
// whole JSON), as a crash of the machine during a write can leave it. Every line before it was read: Read
// returns those events together with the error, so a caller may check them and report the torn line.
var ErrTornTail = errors.New("torn final line")

// Read parses a whole history.jsonl from r. name is used in error messages, which give the line number and say
// which field was wrong. Blank lines are skipped. A final line without a newline is accepted if it is whole
// JSON; a torn final line (a partial write) gives an error wrapping ErrTornTail, with every event before it.
func Read(r io.Reader, name string) ([]Event, error) {
	var out []Event
	err := Scan(r, name, func(e Event) error {
		out = append(out, e)
		return nil
	})
	return out, err
}

// ReadFile reads the history file at path.
func ReadFile(path string) ([]Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	defer f.Close()
	return Read(f, path)
}

// Scan calls fn for each event of r in file order, stopping at fn's first error.
//
// Lines are read and decoded on a goroutine of their own, a batch at a time, while fn runs on the caller's: a
// check converts and checks one batch while the next is decoded. Scan returns only once that goroutine is done
// with r.
func Scan(r io.Reader, name string, fn func(Event) error) error {
	type batch struct {
		events []Event
		err    error
	}
	const batchSize = 1024
	batches := make(chan *batch, 4)
	free := make(chan *batch, 8)
	stop := make(chan struct{})
	go func() {
		defer close(batches)
		b := &batch{events: make([]Event, 0, batchSize)}
		b.err = scanLines(r, name, func(e Event) error {
			b.events = append(b.events, e)
			if len(b.events) < batchSize {
				return nil
			}
			select {
			case batches <- b:
			case <-stop:
				return errStopped
			}
			select {
			case b = <-free:
				b.events = b.events[:0]
			default:
				b = &batch{events: make([]Event, 0, batchSize)}
			}
			return nil
		})
		select {
		case batches <- b:
		case <-stop:
		}
	}()
	for b := range batches {
		for _, e := range b.events {
			if err := fn(e); err != nil {
				close(stop)
				for range batches { // until the reader is done with r
				}
				return err
			}
		}
		if b.err != nil {
			return b.err
		}
		select {
		case free <- b:
		default:
		}
	}
	return nil
}

// errStopped ends scanLines when Scan's caller has stopped.
var errStopped = errors.New("stopped")

// scanLines is Scan on the caller's goroutine.
func scanLines(r io.Reader, name string, fn func(Event) error) error {
	br := bufio.NewReaderSize(r, 1<<16)
	d := newLineDecoder()
	line := 0
	var long []byte // a line longer than br's buffer, gathered
	for {
		b, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			long = append(long, b...)
			continue
		}
		if long != nil {
			b = append(long, b...)
			long = nil
		}
		if len(b) > 0 {
			line++
			torn := b[len(b)-1] != '\n' // only the final line can lack its newline
			b = bytes.TrimSpace(b)
			if len(b) > 0 {
				e, perr := d.parse(b)
				if perr != nil && torn && errors.Is(perr, io.ErrUnexpectedEOF) {
					return fmt.Errorf("%s:%d: %w (no newline: a partial write): %v", name, line, ErrTornTail, perr)
				}
				if perr != nil {
					return fmt.Errorf("%s:%d: %w", name, line, perr)
				}
				if ferr := fn(e); ferr != nil {
					return ferr
				}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s:%d: %w", name, line+1, err)
		}
	}
}

// parse decodes one trimmed line: by the fast path when the line has the plain shape it knows (fastline.go),
// else by parseLine. Both end in the same checks.
func (d *lineDecoder) parse(b []byte) (Event, error) {
	var e Event
	if d.decode(b, &e) {
		return e, validate(e)
	}
	return parseLine(b)
}

// parseLine decodes one trimmed line with encoding/json, strictly: unknown fields and trailing data are errors.
func parseLine(b []byte) (Event, error) {
	var e Event
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		var te *json.UnmarshalTypeError
		if asType(err, &te) {
			return e, fmt.Errorf("field %q: %v", te.Field, err)
		}
		return e, fmt.Errorf("not a history event: %w", err)
	}
	// More would miss a stray '}' or ']'; only the end of the line may follow the event.
	if _, err := dec.Token(); err != io.EOF {
		return e, fmt.Errorf("trailing data after the event")
	}
	return e, validate(e)
}

// validate checks what the JSON types alone do not.
func validate(e Event) error {
	if !e.Type.Valid() {
		return fmt.Errorf("field \"type\": %q is not one of invoke, ok, fail, info", e.Type)
	}
	if e.F == "" {
		return fmt.Errorf("field \"f\" is missing")
	}
	if e.Time < 0 {
		return fmt.Errorf("field \"time\": %d is negative", e.Time)
	}
	return nil
}

func asType(err error, target **json.UnmarshalTypeError) bool {
	te, ok := err.(*json.UnmarshalTypeError)
	if ok {
		*target = te
	}
	return ok
}
