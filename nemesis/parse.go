package nemesis

// Reading a schedule: a --nemesis-schedule file, or the schedule a run's config.json recorded.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/skeptic-dev/skeptic/internal/field"
)

// LoadSchedule reads and validates a --nemesis-schedule file for a cluster of nodes. Its errors are *field.Error
// of the field "schedule_file" (in the nemesis's part of config.json), saying the file and, within it, the line.
func LoadSchedule(path string, nodes []string) (Schedule, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, field.Errorf("schedule_file", "%v", err)
	}
	s, err := ParseSchedule(b, nodes)
	if err != nil {
		return nil, field.Errorf("schedule_file", "%s: %v", path, err)
	}
	return s, nil
}

// ParseSchedule decodes and validates a schedule (a JSON list of ops) for a cluster of nodes. The ops are sorted
// by time, keeping the order of ops at the same time. Errors are *field.Error naming the op's field
// ("schedule[1].value.nodes"), with the line of the text at fault in the message.
//
// b may also be a run's config.json: its schedule, the list at .nemesis.schedule, is read (errors still name
// the line of config.json).
func ParseSchedule(b []byte, nodes []string) (Schedule, error) {
	const want = `not a JSON list of ops {"at", "f", "value"} (nor a run's config.json, with the list at .nemesis.schedule)`
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		list, err := configSchedule(b)
		if err != nil {
			return nil, err
		}
		b = list
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	tok, err := d.Token()
	if err != nil {
		line, msg := jsonErrAt(b, err, 0)
		return nil, field.Errorf("schedule", "line %d: %s: %s", line, want, msg)
	}
	if delim, ok := tok.(json.Delim); !ok || delim != '[' {
		return nil, field.Errorf("schedule", "line %d: %s: found %v where the list should begin", lineOf(b, d.InputOffset()-1), want, tok)
	}
	var s Schedule
	for i := 0; d.More(); i++ {
		start := skipSeparators(b, d.InputOffset())
		var op Op
		if err := d.Decode(&op); err != nil {
			line, msg := jsonErrAt(b, err, start)
			return nil, field.Errorf(opField(i, ""), "line %d: %s", line, msg)
		}
		if err := op.validate(nodes); err != nil {
			return nil, opError(i, op, fmt.Sprintf("line %d: ", lineOf(b, start)), err)
		}
		s = append(s, op)
	}
	if _, err := d.Token(); err != nil { // the closing bracket
		line, msg := jsonErrAt(b, err, d.InputOffset())
		return nil, field.Errorf("schedule", "line %d: %s: %s", line, want, msg)
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, field.Errorf("schedule", "line %d: more text after the list of ops", lineOf(b, skipSeparators(b, d.InputOffset())))
	}
	sort.SliceStable(s, func(i, j int) bool { return s[i].At < s[j].At })
	return s, nil
}

// jsonErrAt says where a decoding error is, and what it is: the line of the syntax or type error's own offset,
// else (an unknown field, a bad duration) the line where the value being decoded starts.
func jsonErrAt(b []byte, err error, start int64) (int, string) {
	off := start
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset - 1
	case errors.As(err, &te):
		off = te.Offset - 1
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return lineOf(b, int64(len(b))), "the text ends early, before the list is closed"
	}
	return lineOf(b, off), err.Error()
}

// lineOf returns the 1-based line of byte offset off in b.
func lineOf(b []byte, off int64) int {
	off = max(0, min(off, int64(len(b))))
	return 1 + bytes.Count(b[:off], []byte("\n"))
}

// skipSeparators returns the offset of the first byte at or after off that is neither white space nor a comma.
func skipSeparators(b []byte, off int64) int64 {
	for off < int64(len(b)) && bytes.IndexByte([]byte(" \t\r\n,"), b[off]) >= 0 {
		off++
	}
	return off
}

// configSchedule returns the text of a run's config.json with everything but the list at .nemesis.schedule
// blanked out (newlines kept), so that ParseSchedule reads the list and its errors name config.json's lines.
func configSchedule(b []byte) ([]byte, error) {
	var cfg struct {
		Nemesis *struct {
			Schedule json.RawMessage `json:"schedule"`
		} `json:"nemesis"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		line, msg := jsonErrAt(b, err, 0)
		return nil, field.Errorf("schedule", "line %d: a JSON object, so read as a run's config.json, but: %s", line, msg)
	}
	if cfg.Nemesis == nil || len(cfg.Nemesis.Schedule) == 0 || string(cfg.Nemesis.Schedule) == "null" {
		return nil, field.Errorf("schedule", "a JSON object, so read as a run's config.json, but it has no schedule at .nemesis.schedule "+
			"(a schedule file is a JSON list of ops, or the config.json of a run that had a nemesis)")
	}
	i := bytes.Index(b, cfg.Nemesis.Schedule)
	if i < 0 { // re-encoded: no line numbers to keep
		return cfg.Nemesis.Schedule, nil
	}
	out := bytes.Clone(b)
	for k := range out {
		if (k < i || k >= i+len(cfg.Nemesis.Schedule)) && out[k] != '\n' {
			out[k] = ' '
		}
	}
	return out, nil
}

func nullish(v json.RawMessage) bool {
	t := bytes.TrimSpace(v)
	return len(t) == 0 || string(t) == "null" || string(t) == "{}"
}

// decodeStrict decodes an op's value into into, refusing unknown fields; null or absent leaves into as it is.
// Its error is a *field.Error of the field "value".
func decodeStrict(v json.RawMessage, into any) error {
	if nullish(v) {
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(v))
	d.DisallowUnknownFields()
	if err := d.Decode(into); err != nil {
		return field.Errorf("value", "%v", err)
	}
	return nil
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("nemesis: marshal %T: %v", v, err))
	}
	return b
}
