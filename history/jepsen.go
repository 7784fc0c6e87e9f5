package history

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Importers for Jepsen histories of a single register (read, write and cas on integers), in two forms:
//
//   - history.edn: one EDN map a line, such as
//     {:type :invoke, :f :cas, :value [1 4], :process 0, :time 0, :index 0}
//   - the Jepsen log: one operation a line, such as
//     INFO  jepsen.util - 3	:ok	:cas	[1 4]
//
// Jepsen's conventions become ours:
//   - Every event gets the key the caller names (JepsenKey when empty).
//   - :process :nemesis becomes NemesisProcess.
//   - A log line whose value is a keyword (":info :write :timed-out") carries an error, not a value: the event
//     takes its invocation's value, and the keyword becomes Error ("timed-out").
//   - A :fail of a cas with no :error is a compare that found another value: Jepsen's etcd client fails a cas
//     only then. It becomes a fail with Error ErrCASMismatch whose Value stays the pair [from, to], because
//     Jepsen does not record the value seen; the checker reads a pair there as "the register was not from".
//   - A log has no times: the n-th line gets time n ms, as the vectors' EDN files do.
//
// Only what such histories need is supported; other EDN (sets, tagged literals, floats in values) is an
// error that names the file and line.

// JepsenKey is the key Jepsen's single-register histories are imported under when no key is given.
const JepsenKey = "r"

// ReadJepsenFile imports the Jepsen history at path: a .edn file with ReadJepsenEDN, anything else (.log)
// with ReadJepsenLog.
func ReadJepsenFile(path, key string) ([]Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	defer f.Close()
	if strings.EqualFold(filepath.Ext(path), ".edn") {
		return ReadJepsenEDN(f, path, key)
	}
	return ReadJepsenLog(f, path, key)
}

// ReadJepsenEDN imports a Jepsen history.edn (one map a line) under key (JepsenKey when empty). name is used
// in error messages, which give the line and say what was wrong.
func ReadJepsenEDN(r io.Reader, name, key string) ([]Event, error) {
	if key == "" {
		key = JepsenKey
	}
	var out []Event
	err := eachLine(r, name, func(line int, text string) error {
		v, err := parseEDN(text)
		if err != nil {
			return err
		}
		m, ok := v.(ednMap)
		if !ok {
			return fmt.Errorf("not an EDN map: %s", abbreviate(text))
		}
		e, err := ednEvent(m, key)
		if err != nil {
			return err
		}
		if _, ok := m["index"]; !ok {
			e.Index = int64(len(out))
		}
		out = append(out, e)
		return nil
	})
	return out, err
}

func ednEvent(m ednMap, key string) (Event, error) {
	var e Event
	typ, err := m.keyword("type")
	if err != nil {
		return e, err
	}
	e.Type = Type(typ)
	if !e.Type.Valid() {
		return e, fmt.Errorf(":type :%s is not one of :invoke, :ok, :fail, :info", typ)
	}
	if e.F, err = m.keyword("f"); err != nil {
		return e, err
	}
	switch p := m["process"].(type) {
	case int64:
		if p < 0 {
			return e, fmt.Errorf(":process %d is negative", p)
		}
		e.Process = Process(p)
	case ednKeyword:
		if p != "nemesis" {
			return e, fmt.Errorf(":process :%s is neither an integer nor :nemesis", p)
		}
		e.Process = NemesisProcess
	case nil:
		return e, fmt.Errorf(":process is missing")
	default:
		return e, fmt.Errorf(":process %s is neither an integer nor :nemesis", ednString(p))
	}
	for _, f := range []struct {
		name string
		dst  *int64
	}{{"time", &e.Time}, {"index", &e.Index}} {
		switch v := m[f.name].(type) {
		case int64:
			if v < 0 {
				return e, fmt.Errorf(":%s %d is negative", f.name, v)
			}
			*f.dst = v
		case nil:
		default:
			return e, fmt.Errorf(":%s %s is not an integer", f.name, ednString(v))
		}
	}
	if e.Value, err = ednJSON(m["value"]); err != nil {
		return e, fmt.Errorf(":value: %v", err)
	}
	if v, ok := m["error"]; ok && v != nil {
		e.Error = ednText(v)
	}
	if v, ok := m["node"].(string); ok {
		e.Node = v
	}
	if e.Process != NemesisProcess {
		e.Key = key
		if e.Type == Fail && e.F == "cas" && e.Error == "" {
			e.Error = ErrCASMismatch
		}
	}
	return e, nil
}

// ReadJepsenLog imports the operations of a Jepsen log under key (JepsenKey when empty). Operation lines read
// "INFO jepsen.util - PROCESS :type :f VALUE", or "jepsen.util: PROCESS ..." as newer Jepsen writes them; lines
// of other loggers are skipped. name is used in error messages.
func ReadJepsenLog(r io.Reader, name, key string) ([]Event, error) {
	if key == "" {
		key = JepsenKey
	}
	var out []Event
	open := map[Process]json.RawMessage{} // invocation values, for completions that carry an error instead
	err := eachLine(r, name, func(line int, text string) error {
		_, rest, found := strings.Cut(text, "jepsen.util - ")
		if !found {
			// Newer Jepsen logs: "... INFO [jepsen worker 3] jepsen.util: 3	:invoke	:read	nil".
			if _, rest, found = strings.Cut(text, "jepsen.util: "); !found {
				return nil
			}
		}
		fields := strings.Fields(rest)
		if len(fields) < 4 {
			return fmt.Errorf("want PROCESS :type :f VALUE after \"jepsen.util - \", got %q", rest)
		}
		e := Event{Index: int64(len(out)), Time: int64(len(out)) * 1_000_000}
		switch p := fields[0]; {
		case p == ":nemesis":
			e.Process = NemesisProcess
		default:
			n, err := strconv.ParseInt(p, 10, 64)
			if err != nil || n < 0 {
				return fmt.Errorf("process %q is neither a non-negative integer nor :nemesis", p)
			}
			e.Process = Process(n)
		}
		if !strings.HasPrefix(fields[1], ":") || !Type(fields[1][1:]).Valid() {
			return fmt.Errorf("type %q is not one of :invoke, :ok, :fail, :info", fields[1])
		}
		e.Type = Type(fields[1][1:])
		if !strings.HasPrefix(fields[2], ":") || len(fields[2]) == 1 {
			return fmt.Errorf("function %q is not a keyword", fields[2])
		}
		e.F = fields[2][1:]
		raw := strings.Join(fields[3:], " ")
		v, err := parseEDN(raw)
		if err != nil {
			return fmt.Errorf("value: %v", err)
		}
		if kw, ok := v.(ednKeyword); ok && e.Type != Invoke && e.Process != NemesisProcess {
			e.Error = string(kw)
			e.Value = open[e.Process]
			if e.Value == nil {
				e.Value = Null()
			}
		} else if e.Value, err = ednJSON(v); err != nil {
			return fmt.Errorf("value: %v", err)
		}
		if e.Process != NemesisProcess {
			e.Key = key
			if e.Type == Invoke {
				open[e.Process] = e.Value
			} else {
				delete(open, e.Process)
			}
			if e.Type == Fail && e.F == "cas" && e.Error == "" {
				e.Error = ErrCASMismatch
			}
		}
		out = append(out, e)
		return nil
	})
	return out, err
}

// eachLine calls fn with each non-blank line, and prefixes fn's errors with name:line.
func eachLine(r io.Reader, name string, fn func(line int, text string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<24)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, ";") {
			continue
		}
		if err := fn(line, text); err != nil {
			return fmt.Errorf("%s:%d: %w", name, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	return nil
}

func abbreviate(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// The EDN subset: nil, booleans, integers, strings, keywords, symbols, vectors, lists and maps.
type (
	ednKeyword string
	ednSymbol  string
	ednVector  []any
	ednMap     map[string]any // keyword keys only, without the colon
)

func (m ednMap) keyword(name string) (string, error) {
	v, ok := m[name]
	if !ok {
		return "", fmt.Errorf(":%s is missing", name)
	}
	kw, ok := v.(ednKeyword)
	if !ok || kw == "" {
		return "", fmt.Errorf(":%s %s is not a keyword", name, ednString(v))
	}
	return string(kw), nil
}

// ednText renders an :error value as our Error string: a keyword without its colon, a string as is.
func ednText(v any) string {
	switch x := v.(type) {
	case ednKeyword:
		return string(x)
	case string:
		return x
	}
	return ednString(v)
}

// ednString renders a parsed value back as EDN, for error messages.
func ednString(v any) string {
	switch x := v.(type) {
	case nil:
		return "nil"
	case ednKeyword:
		return ":" + string(x)
	case ednSymbol:
		return string(x)
	case string:
		return strconv.Quote(x)
	case ednVector:
		parts := make([]string, len(x))
		for i, y := range x {
			parts[i] = ednString(y)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case ednMap:
		return "{...}"
	}
	return fmt.Sprint(v)
}

// ednJSON converts a value to the JSON of an Event's Value: nil to null, integers, vectors to arrays, keywords
// and symbols to strings, maps to objects.
func ednJSON(v any) (json.RawMessage, error) {
	j, err := ednPlain(v)
	if err != nil {
		return nil, err
	}
	if j == nil {
		return Null(), nil
	}
	b, err := json.Marshal(j)
	return b, err
}

func ednPlain(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, int64, string:
		return x, nil
	case ednKeyword:
		return string(x), nil
	case ednSymbol:
		return string(x), nil
	case ednVector:
		out := make([]any, len(x))
		for i, y := range x {
			p, err := ednPlain(y)
			if err != nil {
				return nil, err
			}
			out[i] = p
		}
		return out, nil
	case ednMap:
		out := make(map[string]any, len(x))
		for k, y := range x {
			p, err := ednPlain(y)
			if err != nil {
				return nil, err
			}
			out[k] = p
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported EDN value %v", v)
}

// parseEDN parses exactly one EDN value from s.
func parseEDN(s string) (any, error) {
	p := ednParser{s: s}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i < len(p.s) {
		return nil, fmt.Errorf("column %d: unexpected %q after the value", p.i+1, abbreviate(p.s[p.i:]))
	}
	return v, nil
}

type ednParser struct {
	s string
	i int
}

// space skips whitespace, commas (whitespace to EDN) and comments (from ';' to the end of the line).
func (p *ednParser) space() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r', ',':
			p.i++
		case ';':
			for p.i < len(p.s) && p.s[p.i] != '\n' {
				p.i++
			}
		default:
			return
		}
	}
}

func (p *ednParser) errorf(format string, args ...any) error {
	return fmt.Errorf("column %d: %s", p.i+1, fmt.Sprintf(format, args...))
}

func isDelim(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', ',', '[', ']', '(', ')', '{', '}', '"', ';':
		return true
	}
	return false
}

// token reads a run of non-delimiter characters.
func (p *ednParser) token() string {
	start := p.i
	for p.i < len(p.s) && !isDelim(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

func (p *ednParser) value() (any, error) {
	p.space()
	if p.i >= len(p.s) {
		return nil, p.errorf("unexpected end of input, want a value")
	}
	switch c := p.s[p.i]; {
	case c == '{':
		return p.mapValue()
	case c == '[' || c == '(':
		end := byte(']')
		if c == '(' {
			end = ')'
		}
		p.i++
		var out ednVector
		for {
			p.space()
			if p.i >= len(p.s) {
				return nil, p.errorf("unexpected end of input, want %q", end)
			}
			if p.s[p.i] == end {
				p.i++
				if out == nil {
					out = ednVector{}
				}
				return out, nil
			}
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
	case c == '"':
		return p.stringValue()
	case c == ':':
		p.i++
		kw := p.token()
		if kw == "" {
			return nil, p.errorf("empty keyword")
		}
		return ednKeyword(kw), nil
	case c == '#':
		return nil, p.errorf("tagged literals and sets (#...) are not supported")
	case c == ']' || c == ')' || c == '}':
		return nil, p.errorf("unexpected %q", c)
	}
	start := p.i
	tok := p.token()
	if tok == "" {
		return nil, p.errorf("unexpected %q", p.s[p.i])
	}
	switch tok {
	case "nil":
		return nil, nil
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	if c := tok[0]; c >= '0' && c <= '9' || (c == '-' || c == '+') && len(tok) > 1 && tok[1] >= '0' && tok[1] <= '9' {
		n, err := strconv.ParseInt(strings.TrimSuffix(tok, "N"), 10, 64)
		if err != nil {
			p.i = start
			return nil, p.errorf("%q is not a 64-bit integer", tok)
		}
		return n, nil
	}
	return ednSymbol(tok), nil
}

func (p *ednParser) mapValue() (any, error) {
	p.i++ // {
	out := ednMap{}
	for {
		p.space()
		if p.i >= len(p.s) {
			return nil, p.errorf("unexpected end of input, want '}'")
		}
		if p.s[p.i] == '}' {
			p.i++
			return out, nil
		}
		at := p.i
		k, err := p.value()
		if err != nil {
			return nil, err
		}
		kw, ok := k.(ednKeyword)
		if !ok {
			p.i = at
			return nil, p.errorf("map key %s is not a keyword", ednString(k))
		}
		if _, dup := out[string(kw)]; dup {
			p.i = at
			return nil, p.errorf("duplicate key :%s", kw)
		}
		p.space()
		if p.i >= len(p.s) || p.s[p.i] == '}' {
			return nil, p.errorf("key :%s has no value", kw)
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		out[string(kw)] = v
	}
}

func (p *ednParser) stringValue() (any, error) {
	p.i++ // opening quote
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch c {
		case '"':
			return b.String(), nil
		case '\\':
			if p.i >= len(p.s) {
				return nil, p.errorf("unterminated string")
			}
			esc := p.s[p.i]
			p.i++
			switch esc {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '"', '\\':
				b.WriteByte(esc)
			default:
				return nil, p.errorf("unsupported escape \\%c", esc)
			}
		default:
			b.WriteByte(c)
		}
	}
	return nil, p.errorf("unterminated string")
}
