package history

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Format is the form of a history file.
type Format string

// The formats ReadFileFormat reads.
const (
	// FormatAuto tells the format from the file's content (DetectFormat).
	FormatAuto Format = ""
	// FormatSkeptic is skeptic's history.jsonl (Read).
	FormatSkeptic Format = "skeptic"
	// FormatJepsenEDN is a Jepsen history.edn (ReadJepsenEDN).
	FormatJepsenEDN Format = "jepsen-edn"
	// FormatJepsenLog is a Jepsen log (ReadJepsenLog).
	FormatJepsenLog Format = "jepsen-log"
)

// Formats lists the formats a user can name.
var Formats = []Format{FormatJepsenEDN, FormatJepsenLog, FormatSkeptic}

// ParseFormat parses a format name; "" and "auto" are FormatAuto.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case FormatAuto, "auto":
		return FormatAuto, nil
	case FormatSkeptic, FormatJepsenEDN, FormatJepsenLog:
		return f, nil
	}
	return "", fmt.Errorf("unknown format %q; want one of %s", s, formatList())
}

func formatList() string {
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}

// detectBytes is how much of a file DetectFormat looks at.
const detectBytes = 1 << 20

// FormatError is the error of a file whose format DetectFormat cannot tell. Tried says, for each format, why
// the file did not look like it.
type FormatError struct {
	Name  string
	Tried []string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("%s: cannot tell the format: tried %s; name the format (%s)", e.Name, strings.Join(e.Tried, "; "), formatList())
}

// DetectFormat tells the format of a history from its first bytes (head; DetectFormat looks at no more than
// 1 MiB of it), by content, not by name:
//   - skeptic, when the first non-blank line is a JSON object (or starts as one: `{"`);
//   - jepsen-log, when a line is an operation line of jepsen.util ("jepsen.util - 3	:invoke ...");
//   - jepsen-edn, when the first thing that is not a blank or a ';' comment is '{', '[', '(' or '#'.
//
// A file with nothing in it but blanks is read by its extension: .edn and .log as Jepsen's, else skeptic's.
// Anything else is a *FormatError that says what was tried.
func DetectFormat(head []byte, name string) (Format, error) {
	if len(head) > detectBytes {
		head = head[:detectBytes]
	}
	first, found := firstLine(head)
	if !found {
		switch strings.ToLower(filepath.Ext(name)) {
		case ".edn":
			return FormatJepsenEDN, nil
		case ".log":
			return FormatJepsenLog, nil
		}
		return FormatSkeptic, nil
	}
	if bytes.HasPrefix(first, []byte(`{"`)) || first[0] == '{' && json.Valid(first) {
		return FormatSkeptic, nil
	}
	sc := bufio.NewScanner(bytes.NewReader(head))
	sc.Buffer(make([]byte, 0, 1<<16), detectBytes)
	for sc.Scan() {
		if rest, ok := logOp(sc.Text()); ok && looksLikeLogOp(rest) {
			return FormatJepsenLog, nil
		}
	}
	start := skipSpace(head, 0)
	if start < len(head) && strings.IndexByte("{[(#", head[start]) >= 0 {
		return FormatJepsenEDN, nil
	}
	return "", &FormatError{Name: name, Tried: []string{
		fmt.Sprintf("%s (the first line is not a JSON object: %s)", FormatSkeptic, strconv.Quote(abbreviate(string(first)))),
		fmt.Sprintf(`%s (no "jepsen.util" operation line in the first %d bytes)`, FormatJepsenLog, min(len(head), detectBytes)),
		fmt.Sprintf("%s (it does not start with an EDN map or vector)", FormatJepsenEDN),
	}}
}

// firstLine returns the first line of b that is not blank, trimmed.
func firstLine(b []byte) ([]byte, bool) {
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if line = bytes.TrimSpace(line); len(line) > 0 {
			return line, true
		}
	}
	return nil, false
}

// looksLikeLogOp reports whether the text after "jepsen.util - " starts as an operation: a process (a number
// or :nemesis), then a :type.
func looksLikeLogOp(rest string) bool {
	f := strings.Fields(rest)
	if len(f) < 3 {
		return false
	}
	if _, err := strconv.ParseUint(f[0], 10, 63); err != nil && f[0] != ":nemesis" {
		return false
	}
	return strings.HasPrefix(f[1], ":") && Type(f[1][1:]).Valid()
}

// ReadFileFormat reads the history at path in format (FormatAuto: DetectFormat), and returns its events and
// the format it was read as. opts applies to Jepsen's formats. Errors name the file and, for a bad line, the
// line; a skeptic history whose last line is torn returns its events with an error wrapping ErrTornTail, as
// Read does.
func ReadFileFormat(path string, format Format, opts JepsenOptions) ([]Event, Format, error) {
	if _, err := ParseFormat(string(format)); err != nil {
		return nil, "", fmt.Errorf("history: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, "", fmt.Errorf("history: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, detectBytes)
	if format == FormatAuto {
		head, err := br.Peek(detectBytes)
		if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
			return nil, "", fmt.Errorf("history: %s: %w", path, err)
		}
		if format, err = DetectFormat(head, path); err != nil {
			return nil, "", err
		}
	}
	var events []Event
	switch format {
	case FormatJepsenEDN:
		events, err = ReadJepsenEDN(br, path, opts)
	case FormatJepsenLog:
		lines := &lineCounter{r: br}
		events, err = ReadJepsenLog(lines, path, opts)
		if err == nil && len(events) == 0 && lines.text {
			err = fmt.Errorf("%s: not a Jepsen log: no operation line (\"jepsen.util - PROCESS :type :f VALUE\") in it", path)
		}
	default:
		events, err = Read(br, path)
	}
	return events, format, err
}

// lineCounter notes whether anything but blanks went through it.
type lineCounter struct {
	r    io.Reader
	text bool
}

func (c *lineCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if !c.text && len(bytes.TrimSpace(p[:n])) > 0 {
		c.text = true
	}
	return n, err
}
