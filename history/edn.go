package history

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"olympos.io/encoding/edn"
)

// The EDN glue of the importers: the olympos.io/encoding/edn library parses; this file finds where values
// start and end (for line numbers) and turns parsed values into an Event's fields.

// ParseError is the error of a history that could not be imported: the file, the line, and what was wrong.
type ParseError struct {
	// Name is the file's name, as given to the reader.
	Name string
	// Line is the line, from 1, where the bad event or value starts.
	Line int
	// Err says what was wrong.
	Err error
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %v", e.Name, e.Line, e.Err) }

func (e *ParseError) Unwrap() error { return e.Err }

// lineIndex maps byte offsets of a text to 1-based line numbers.
type lineIndex []int // the offset at which each line starts

func newLineIndex(b []byte) lineIndex {
	idx := lineIndex{0}
	for i, c := range b {
		if c == '\n' {
			idx = append(idx, i+1)
		}
	}
	return idx
}

func (l lineIndex) line(off int) int {
	return sort.Search(len(l), func(i int) bool { return l[i] > off })
}

// checkUTF8 returns the offset of the first byte that is not valid UTF-8, or -1.
func checkUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// skipSpace returns the offset of the first byte at or after off that is not EDN whitespace (commas included)
// or part of a ';' comment.
func skipSpace(b []byte, off int) int {
	for off < len(b) {
		switch b[off] {
		case ' ', '\t', '\n', '\r', '\f', '\v', ',':
			off++
		case ';':
			for off < len(b) && b[off] != '\n' {
				off++
			}
		default:
			return off
		}
	}
	return off
}

// decodeOne parses the first EDN value of b with the library and returns it and how many bytes it took (see
// skim).
func decodeOne(b []byte) (v any, n int, errOff int, err error) {
	raw, n, errOff, err := skim(b, nil)
	if err != nil {
		return nil, n, errOff, err
	}
	if err := safeDecode(func(v any) error { return edn.Unmarshal(raw, v) }, &v); err != nil {
		return nil, n, -1, ednError(err)
	}
	return v, n, -1, nil
}

// skim finds the first EDN value of b with the library, and returns its text as the library gives it and how
// many bytes of b it took. The count is exact for values that end in a closing delimiter (maps, vectors,
// strings); after a bare scalar it may include the one whitespace or delimiter byte that ended it. Skimming
// checks that brackets balance, not what is inside them. On an error, errOff is the offset in b the library
// reports, when it reports one (else -1). br, if not nil, is a reader to reuse (of the library's default size).
func skim(b []byte, br *bufio.Reader) (raw edn.RawMessage, n int, errOff int, err error) {
	src := bytes.NewReader(b)
	if br == nil {
		br = bufio.NewReaderSize(src, 4096)
	} else {
		br.Reset(src)
	}
	if err := safeDecode(edn.NewDecoder(br).Decode, &raw); err != nil {
		off := -1
		var se *edn.SyntaxError
		if errors.As(err, &se) && se.Offset > 0 {
			off = runeOffset(b, int(se.Offset)-1)
		}
		return nil, 0, off, ednError(err)
	}
	return raw, len(b) - src.Len() - br.Buffered(), -1, nil
}

// safeDecode runs an EDN decode, turning a panic of the library into an error.
func safeDecode(decode func(any) error, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the EDN parser failed on this value: %v", r)
		}
	}()
	return decode(v)
}

// ednError rewords the library's least helpful messages.
func ednError(err error) error {
	switch msg := err.Error(); msg {
	case "No more tokens to read", "EOF":
		return errors.New("bad EDN: the input ends inside a value (an unclosed '{', '[', '(' or string?)")
	case "Unexpected token":
		return errors.New("bad EDN: unexpected token (a closing bracket that does not match, or a map key without a value?)")
	default:
		return fmt.Errorf("bad EDN: %s", msg)
	}
}

// runeOffset returns the byte offset of the n-th rune of b (the library counts runes).
func runeOffset(b []byte, n int) int {
	off := 0
	for i := 0; i < n && off < len(b); i++ {
		_, size := utf8.DecodeRune(b[off:])
		off += size
	}
	return off
}

// ednPairs parses the map whose text is b ('{' ... '}') into its keys and values, in order, refusing keys
// that are not keywords and keys given twice (the library would keep the last silently).
func ednPairs(b []byte) (map[string]any, error) {
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return nil, fmt.Errorf("want an EDN map {...}, got %s", abbreviate(string(b)))
	}
	list := make([]byte, len(b))
	copy(list, b)
	list[0], list[len(list)-1] = '[', ']'
	var items []any
	if err := safeDecode(func(v any) error { return edn.Unmarshal(list, v) }, &items); err != nil {
		return nil, ednError(err)
	}
	if len(items)%2 == 1 {
		return nil, fmt.Errorf("key %s has no value", ednString(items[len(items)-1]))
	}
	m := make(map[string]any, len(items)/2)
	for i := 0; i < len(items); i += 2 {
		kw, ok := items[i].(edn.Keyword)
		if !ok {
			return nil, fmt.Errorf("map key %s is not a keyword", ednString(items[i]))
		}
		if _, dup := m[string(kw)]; dup {
			return nil, fmt.Errorf("duplicate key :%s", string(kw))
		}
		m[string(kw)] = items[i+1]
	}
	return m, nil
}

// keyword returns the keyword m holds under name.
func keyword(m map[string]any, name string) (string, error) {
	v, ok := m[name]
	if !ok {
		return "", fmt.Errorf(":%s is missing", name)
	}
	kw, ok := v.(edn.Keyword)
	if !ok || kw == "" {
		return "", fmt.Errorf(":%s %s is not a keyword", name, ednString(v))
	}
	return string(kw), nil
}

// ednText renders an :error value as our Error string: a keyword without its colon, a string as is, anything
// else as EDN.
func ednText(v any) string {
	switch x := v.(type) {
	case edn.Keyword:
		return string(x)
	case string:
		return x
	}
	return ednString(v)
}

// ednString renders a parsed value as EDN, for messages and for values JSON cannot hold.
func ednString(v any) string {
	switch x := v.(type) {
	case nil:
		return "nil"
	case edn.Keyword:
		return ":" + string(x)
	case edn.Symbol:
		return string(x)
	case string:
		return strconv.Quote(x)
	case *any:
		return ednString(*x)
	case []any:
		parts := make([]string, len(x))
		for i, y := range x {
			parts[i] = ednString(y)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case map[any]any:
		return "{...}"
	case map[any]bool:
		return "#{...}"
	}
	return fmt.Sprint(v)
}

// ednJSON converts a value to the JSON of an Event's Value: nil to null, numbers as numbers, vectors and lists
// to arrays, sets to arrays (sorted, so the result does not depend on map order), keywords, symbols and
// characters to strings, maps to objects (keys as strings), tagged values to {"#tag": value}, instants to
// RFC 3339 strings.
func ednJSON(v any) (json.RawMessage, error) {
	j, err := ednPlain(v)
	if err != nil {
		return nil, err
	}
	if j == nil {
		return Null(), nil
	}
	return json.Marshal(j)
}

func ednPlain(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, int64, string:
		return x, nil
	case float64:
		// JSON has no NaN or infinities; keep them as EDN text.
		if b, err := json.Marshal(x); err == nil {
			return json.RawMessage(b), nil
		}
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case big.Int:
		return json.RawMessage(x.String()), nil
	case *big.Int:
		return json.RawMessage(x.String()), nil
	case rune:
		return string(x), nil
	case edn.Keyword:
		return string(x), nil
	case edn.Symbol:
		return string(x), nil
	case time.Time:
		return x.Format(time.RFC3339Nano), nil
	case *any:
		return ednPlain(*x)
	case edn.Tag:
		p, err := ednPlain(x.Value)
		if err != nil {
			return nil, err
		}
		return map[string]any{"#" + x.Tagname: p}, nil
	case []any:
		out := make([]any, len(x))
		for i, y := range x {
			p, err := ednPlain(y)
			if err != nil {
				return nil, err
			}
			out[i] = p
		}
		return out, nil
	case map[any]bool:
		out := make([]json.RawMessage, 0, len(x))
		for y := range x {
			b, err := ednJSON(y)
			if err != nil {
				return nil, err
			}
			out = append(out, b)
		}
		sort.Slice(out, func(i, j int) bool { return string(out[i]) < string(out[j]) })
		return out, nil
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, y := range x {
			var name string
			switch kk := k.(type) {
			case edn.Keyword:
				name = string(kk)
			case string:
				name = kk
			case edn.Symbol:
				name = string(kk)
			default:
				name = ednString(k)
			}
			p, err := ednPlain(y)
			if err != nil {
				return nil, err
			}
			out[name] = p
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported EDN value %s (%T)", ednString(v), v)
}

func abbreviate(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
