package history

import (
	"encoding/json"
	"strconv"
)

// lineDecoder decodes history.jsonl lines quickly. It understands the lines the Recorder writes, and every line
// of the same plain shape: one JSON object, no whitespace, the fields of Event by their exact names, each at
// most once and in any order, strings of printable ASCII without escapes, integers in canonical form, and a
// value that is null, an integer or a pair of integers. On anything else (an escape, a space, an unknown or
// repeated field, a nemesis value, a number it would have to think about) it gives up, and parseLine decodes
// the line with encoding/json, so the two agree on every line by construction: FuzzLineDecoder checks that
// whatever the fast path accepts, encoding/json decodes to the same Event.
//
// It interns the strings that repeat (functions, types, keys, nodes, errors) and carves values out of a shared
// arena, so a line costs no allocation of its own in the common case.
type lineDecoder struct {
	strs  map[string]string
	arena []byte
}

func newLineDecoder() *lineDecoder { return &lineDecoder{strs: map[string]string{}} }

// maxInterned bounds the interned strings, so that a history of distinct keys does not grow the table forever.
const maxInterned = 1 << 16

func (d *lineDecoder) intern(b []byte) string {
	if s, ok := d.strs[string(b)]; ok { // no allocation for the lookup
		return s
	}
	s := string(b)
	if len(d.strs) < maxInterned {
		d.strs[s] = s
	}
	return s
}

// raw copies b into the arena and returns the copy, capped so an append to it cannot touch its neighbours.
func (d *lineDecoder) raw(b []byte) json.RawMessage {
	if len(d.arena)+len(b) > cap(d.arena) {
		d.arena = make([]byte, 0, max(1<<16, len(b)))
	}
	n := len(d.arena)
	d.arena = append(d.arena, b...)
	return json.RawMessage(d.arena[n : n+len(b) : n+len(b)])
}

// Field bits, to refuse a repeated field.
const (
	fIndex = 1 << iota
	fTime
	fProcess
	fType
	fF
	fKey
	fValue
	fNode
	fError
)

// decode decodes b (a trimmed line) into e, and reports whether it could; on false, e is undefined.
func (d *lineDecoder) decode(b []byte, e *Event) bool {
	*e = Event{}
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return false
	}
	i := 1
	seen := 0
	if b[i] == '}' {
		return i == len(b)-1
	}
	for {
		// "name":
		if b[i] != '"' {
			return false
		}
		j := i + 1
		for j < len(b) && b[j] != '"' {
			j++
		}
		if j+1 >= len(b) || b[j+1] != ':' {
			return false
		}
		name := b[i+1 : j]
		i = j + 2
		var bit int
		var ok bool
		switch string(name) {
		case "index":
			bit = fIndex
			e.Index, i, ok = fastInt(b, i)
		case "time":
			bit = fTime
			e.Time, i, ok = fastInt(b, i)
		case "process":
			bit = fProcess
			if j, s, sok := fastString(b, i); sok {
				ok = string(s) == "nemesis"
				e.Process, i = NemesisProcess, j
			} else {
				var n int64
				n, i, ok = fastInt(b, i)
				ok = ok && n >= 0
				e.Process = Process(n)
			}
		case "type":
			bit = fType
			var s []byte
			i, s, ok = fastString(b, i)
			e.Type = internType(s, d)
		case "f":
			bit = fF
			var s []byte
			i, s, ok = fastString(b, i)
			e.F = d.intern(s)
		case "key":
			bit = fKey
			var s []byte
			i, s, ok = fastString(b, i)
			e.Key = d.intern(s)
		case "node":
			bit = fNode
			var s []byte
			i, s, ok = fastString(b, i)
			e.Node = d.intern(s)
		case "error":
			bit = fError
			var s []byte
			i, s, ok = fastString(b, i)
			e.Error = d.intern(s)
		case "value":
			bit = fValue
			j := fastValue(b, i)
			ok = j > i
			if ok {
				e.Value = d.raw(b[i:j])
				i = j
			}
		}
		if !ok || bit == 0 || seen&bit != 0 {
			return false
		}
		seen |= bit
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i++
			if i >= len(b) {
				return false
			}
		case '}':
			return i == len(b)-1
		default:
			return false
		}
	}
}

func internType(s []byte, d *lineDecoder) Type {
	switch string(s) {
	case "invoke":
		return Invoke
	case "ok":
		return Ok
	case "fail":
		return Fail
	case "info":
		return Info
	}
	return Type(d.intern(s))
}

// fastString reads a string of printable ASCII without escapes at b[i], returning the index after it and its
// contents.
func fastString(b []byte, i int) (int, []byte, bool) {
	if i >= len(b) || b[i] != '"' {
		return i, nil, false
	}
	j := i + 1
	for ; j < len(b); j++ {
		c := b[j]
		if c == '"' {
			return j + 1, b[i+1 : j], true
		}
		if c < 0x20 || c > 0x7e || c == '\\' {
			return i, nil, false
		}
	}
	return i, nil, false
}

// fastInt reads a canonical JSON integer (-?(0|[1-9][0-9]*)) of at most 18 digits at b[i].
func fastInt(b []byte, i int) (int64, int, bool) {
	j := intEnd(b, i)
	if j < 0 {
		return 0, i, false
	}
	n, err := strconv.ParseInt(string(b[i:j]), 10, 64)
	return n, j, err == nil
}

// intEnd returns the index after a canonical integer of at most 18 digits at b[i], or -1, also when a character
// follows that could continue a JSON number.
func intEnd(b []byte, i int) int {
	j := i
	if j < len(b) && b[j] == '-' {
		j++
	}
	start := j
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	digits := j - start
	if digits == 0 || digits > 18 || digits > 1 && b[start] == '0' {
		return -1
	}
	if j < len(b) && (b[j] == '.' || b[j] == 'e' || b[j] == 'E') {
		return -1
	}
	return j
}

// fastValue returns the index after a value at b[i] that is null, an integer or [integer,integer], or -1.
func fastValue(b []byte, i int) int {
	if len(b)-i >= 4 && string(b[i:i+4]) == "null" {
		return i + 4
	}
	if i < len(b) && b[i] == '[' {
		j := intEnd(b, i+1)
		if j < 0 || j >= len(b) || b[j] != ',' {
			return -1
		}
		j = intEnd(b, j+1)
		if j < 0 || j >= len(b) || b[j] != ']' {
			return -1
		}
		return j + 1
	}
	return intEnd(b, i)
}
