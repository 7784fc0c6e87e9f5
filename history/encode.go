package history

import (
	"encoding/json"
	"strconv"
	"sync"
)

// The Recorder's encoder: json.Marshal of an Event, byte for byte, without reflection, for the events workers
// record. Anything it is not sure of (a value other than null, an integer or a pair of integers, such as a
// nemesis event's; an invalid process) it leaves to json.Marshal. TestEncodeSameAsMarshal and
// FuzzEncodeSameAsMarshal hold the two together.

// appendTail appends what json.Marshal writes of e after its index and time: the rest of the object, from the
// comma after the time to the closing brace, and a newline. It reports false, with b unchanged in its
// contents, when e needs json.Marshal.
func appendTail(b []byte, e *Event) ([]byte, bool) {
	b = append(b, `,"process":`...)
	switch {
	case e.Process == NemesisProcess:
		b = append(b, `"nemesis"`...)
	case e.Process >= 0:
		b = strconv.AppendInt(b, int64(e.Process), 10)
	default:
		return b, false
	}
	b = append(b, `,"type":`...)
	b = appendString(b, string(e.Type))
	b = append(b, `,"f":`...)
	b = appendString(b, e.F)
	if e.Key != "" {
		b = append(b, `,"key":`...)
		b = appendString(b, e.Key)
	}
	b = append(b, `,"value":`...)
	switch {
	case e.Value == nil:
		b = append(b, "null"...)
	case len(e.Value) > 0 && fastValue(e.Value, 0) == len(e.Value):
		b = append(b, e.Value...) // already compact: json.Marshal copies it as it is
	default:
		return b, false
	}
	if e.Node != "" {
		b = append(b, `,"node":`...)
		b = appendString(b, e.Node)
	}
	if e.Error != "" {
		b = append(b, `,"error":`...)
		b = appendString(b, e.Error)
	}
	return append(b, '}', '\n'), true
}

// appendString appends s as a JSON string as json.Marshal writes it: printable ASCII other than the quote, the
// backslash and the characters it escapes for HTML (<, >, &) is copied; a string with anything else is left to
// json.Marshal.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendHead appends the start of an event's line: its index and time.
func appendHead(b []byte, index, time int64) []byte {
	b = append(b, `{"index":`...)
	b = strconv.AppendInt(b, index, 10)
	b = append(b, `,"time":`...)
	return strconv.AppendInt(b, time, 10)
}

// lineBufs holds the buffers lines are encoded into.
var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}
