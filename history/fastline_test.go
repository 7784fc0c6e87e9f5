package history

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// recorderLines are lines as the Recorder writes them.
func recorderLines(t testing.TB) []string {
	var out []string
	for _, e := range []Event{
		{Index: 0, Time: 10, Process: 3, Type: Invoke, F: "write", Key: "k1", Value: Int(5), Node: "n1"},
		{Index: 1, Time: 12, Process: 3, Type: Ok, F: "write", Key: "k1", Value: Int(5), Node: "n1"},
		{Index: 2, Time: 13, Process: 4, Type: Invoke, F: "cas", Key: "k1", Value: Pair(5, -6), Node: "n2"},
		{Index: 3, Time: 14, Process: 4, Type: Fail, F: "cas", Key: "k1", Value: Null(), Node: "n2", Error: ErrCASMismatch},
		{Index: 4, Time: 15, Process: 5, Type: Invoke, F: "read", Key: "k1", Value: Null(), Node: "n3"},
		{Index: 5, Time: 16, Process: 5, Type: Info, F: "read", Key: "k1", Value: Null(), Node: "n3", Error: "timeout"},
		{Index: 6, Time: 17, Process: NemesisProcess, Type: Info, F: "kill", Value: Null()},
	} {
		b, err := json.Marshal(e)
		require.NoError(t, err)
		out = append(out, string(b))
	}
	return out
}

// TestLineDecoderFastPath: the lines the Recorder writes take the fast path and decode as encoding/json does;
// lines of any unusual shape do not take it (parseLine then decides, as before).
func TestLineDecoderFastPath(t *testing.T) {
	d := newLineDecoder()
	for _, l := range recorderLines(t) {
		var e Event
		require.True(t, d.decode([]byte(l), &e), l)
		want, err := parseLine([]byte(l))
		require.NoError(t, err)
		require.Equal(t, want, e)
	}
	for _, l := range []string{
		`{"index":0,"time":0,"process":0,"type":"ok","f":"read","colour":1}`,         // unknown field
		`{"Index":0,"time":0,"process":0,"type":"ok","f":"read"}`,                    // case-insensitive match
		`{"index":0,"index":1,"time":0,"process":0,"type":"ok","f":"read"}`,          // repeated field
		`{"index":0, "time":0,"process":0,"type":"ok","f":"read"}`,                   // a space
		`{"index":0,"time":0,"process":0,"type":"ok","f":"r\u0065ad"}`,               // an escape
		`{"index":0,"time":0,"process":0,"type":"ok","f":"réad"}`,                    // not ASCII
		`{"index":01,"time":0,"process":0,"type":"ok","f":"read"}`,                   // leading zero
		`{"index":1e3,"time":0,"process":0,"type":"ok","f":"read"}`,                  // exponent
		`{"index":0,"time":0,"process":-2,"type":"ok","f":"read"}`,                   // negative process
		`{"index":0,"time":0,"process":"worker","type":"ok","f":"read"}`,             // string process
		`{"index":0,"time":0,"process":0,"type":"ok","f":"read","value":{"a":1}}`,    // object value
		`{"index":0,"time":0,"process":0,"type":"ok","f":"read","value":[1,2,3]}`,    // long array
		`{"index":0,"time":0,"process":0,"type":"ok","f":"read","key":null}`,         // null string
		`{"index":0,"time":0,"process":0,"type":"ok","f":"read"}}`,                   // stray brace
		`{"index":12345678901234567890,"time":0,"process":0,"type":"ok","f":"read"}`, // too long a number
		`{"index":0,"time":0,"process":0,"type":"ok","f":"read",}`,                   // trailing comma
	} {
		var e Event
		require.False(t, d.decode([]byte(l), &e), l)
	}
}

// oldScan is Scan as it was before the fast path: every line through parseLine, read with ReadBytes.
func oldScan(r io.Reader, name string, fn func(Event) error) error {
	br := bufio.NewReaderSize(r, 1<<16)
	line := 0
	for {
		b, err := br.ReadBytes('\n')
		if len(b) > 0 {
			line++
			torn := b[len(b)-1] != '\n'
			b = bytes.TrimSpace(b)
			if len(b) > 0 {
				e, perr := parseLine(b)
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

func scanAll(scan func(io.Reader, string, func(Event) error) error, in string) ([]Event, string) {
	var out []Event
	err := scan(strings.NewReader(in), "h", func(e Event) error { out = append(out, e); return nil })
	if err != nil {
		return out, err.Error()
	}
	return out, ""
}

// FuzzLineDecoder is the differential test of the fast path: on any input, Scan gives the same events and the
// same error (line numbers and torn tails included) as the encoding/json-only scanner it replaced, and any
// single line the fast path accepts, encoding/json decodes to the same Event.
func FuzzLineDecoder(f *testing.F) {
	lines := recorderLines(f)
	f.Add(strings.Join(lines, "\n") + "\n")
	f.Add(strings.Join(lines, "\r\n"))
	f.Add(lines[0] + "\n\n" + lines[1][:20])
	f.Add(lines[2] + "\n" + strings.Replace(lines[3], `"index":3`, `"index":3,"index":4`, 1) + "\n")
	f.Add(strings.Replace(lines[1], `"ok"`, `"done"`, 1) + "\n")
	f.Add(strings.Replace(lines[1], `"time":12`, `"time":-12`, 1) + "\n")
	f.Add(strings.Replace(lines[1], `"k1"`, `"k\"1"`, 1) + "\n")
	f.Add(strings.Replace(lines[1], `"f":"write"`, `"f":""`, 1) + "\n")
	f.Add(lines[0] + " {}\n" + lines[1])
	f.Add(`{"index":0,"time":0,"process":"nemesis","type":"info","f":"start-partition","value":{"n1":["n2"]}}` + "\n")
	f.Add(`{"index":-0,"time":0,"process":-0,"type":"invoke","f":"read","value":[-0,0]}`)
	f.Add(`{}` + "\n" + `{"index":0}`)
	f.Add(`{"index":0,"time":0,"process":0,"type":"ok","f":"` + strings.Repeat("x", 70000) + `"}` + "\n" + lines[0])
	f.Fuzz(func(t *testing.T, in string) {
		want, wantErr := scanAll(oldScan, in)
		got, gotErr := scanAll(Scan, in)
		require.Equal(t, wantErr, gotErr)
		require.Equal(t, want, got)

		d := newLineDecoder()
		for _, l := range strings.Split(in, "\n") {
			b := bytes.TrimSpace([]byte(l))
			var e Event
			if !d.decode(b, &e) {
				continue
			}
			ref, err := parseLine(b)
			verr := validate(e)
			require.Equal(t, fmt.Sprint(err), fmt.Sprint(verr), "line %q", b)
			require.Equal(t, ref, e, "line %q", b)
		}
	})
}

// TestScanStopsMidway: Scan stops at the callback's error deep into a file of many batches, and hands over the
// events in order until then.
func TestScanStopsMidway(t *testing.T) {
	var b strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&b, `{"index":%d,"time":%d,"process":0,"type":"invoke","f":"read","key":"k","value":null}`+"\n", i, i)
	}
	stop := errors.New("stop")
	var got []int64
	err := Scan(strings.NewReader(b.String()), "h", func(e Event) error {
		got = append(got, e.Index)
		if len(got) == 2500 {
			return stop
		}
		return nil
	})
	require.ErrorIs(t, err, stop)
	require.Len(t, got, 2500)
	for i, idx := range got {
		require.Equal(t, int64(i), idx)
	}
	events, err := Read(strings.NewReader(b.String()+`{"index":5000,"ti`), "h")
	require.ErrorIs(t, err, ErrTornTail)
	require.ErrorContains(t, err, "h:5001: torn final line")
	require.Len(t, events, 5000)
}
