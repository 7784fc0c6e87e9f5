package history

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"olympos.io/encoding/edn"
)

// Importers for Jepsen histories of a single register (read, write and cas on integers), in two forms:
//
//   - history.edn: EDN maps, one an operation, such as
//     {:type :invoke, :f :cas, :value [1 4], :process 0, :time 0, :index 0}
//     Either a sequence of maps (Jepsen writes one a line), or one vector of them (as Knossos's test histories
//     are written); a map may be tagged, as Jepsen's #jepsen.history.Op{...} records are.
//   - the Jepsen log: one operation a line, such as
//     INFO  jepsen.util - 3	:ok	:cas	[1 4]
//
// EDN is parsed with olympos.io/encoding/edn. Jepsen's conventions become ours:
//   - Every event gets the key the caller names (JepsenKey when empty).
//   - :process :nemesis becomes NemesisProcess.
//   - A log line whose value is a keyword (":info :write :timed-out") carries an error, not a value: the event
//     takes its invocation's value, and the keyword becomes Error ("timed-out"). Text after the value (Jepsen
//     logs an op's :error there) becomes Error too.
//   - A :fail of a cas with no :error is, with FailCASObserved (the default), a compare that found another
//     value, as Jepsen's etcd client fails a cas only then: it becomes a fail with Error ErrCASMismatch whose
//     Value stays the pair [from, to], because Jepsen does not record the value seen; the checker reads a pair
//     there as "the register was not from". With FailCASNeverHappened it stays a plain fail, which the checker
//     drops, as Knossos does.
//   - Real-time order: Jepsen writes a history in real-time order, and Knossos reads it in file order. EDN
//     :time (nanoseconds) is kept when every map has one and the times increase along the file. When no map
//     has one (Knossos's histories), or two neighbours share one (equal times would make them overlap), the
//     file order is the real-time order: the n-th operation gets time n ms, as in the log, and an :index, if
//     given, must increase along the file. A :time before the one above it, or :time on some maps but not
//     all, is an error.
//   - A log has no times: the n-th operation line gets time n ms, as the vectors' EDN files do.
//
// Values become JSON: vectors and sets arrays, keywords and symbols strings, maps objects. Anything that does
// not parse, or is not an operation, is an error that names the file and line (a *ParseError).

// JepsenKey is the key Jepsen's single-register histories are imported under when no key is given.
const JepsenKey = "r"

// FailCAS says what a failed cas that gives no error means.
type FailCAS string

// The readings of a failed cas.
const (
	// FailCASObserved: the cas compared and found another value, so the register was not from at some
	// instant within the operation. True of clients that fail a cas only on a compare that was evaluated (Jepsen's
	// etcd client, skeptic's own 409). The default.
	FailCASObserved FailCAS = "observed"
	// FailCASNeverHappened: the cas did not take effect, and tells nothing more (Knossos's reading of :fail).
	// Always safe, but weaker: it can miss a stale compare.
	FailCASNeverHappened FailCAS = "never-happened"
)

// ParseFailCAS parses a FailCAS; "" is FailCASObserved.
func ParseFailCAS(s string) (FailCAS, error) {
	switch f := FailCAS(s); f {
	case "", FailCASObserved:
		return FailCASObserved, nil
	case FailCASNeverHappened:
		return f, nil
	}
	return "", fmt.Errorf("unknown fail-cas reading %q; want %s or %s", s, FailCASObserved, FailCASNeverHappened)
}

// JepsenOptions configures the Jepsen importers.
type JepsenOptions struct {
	// Key is the key every operation gets; JepsenKey when empty.
	Key string
	// FailCAS is how a :fail :cas with no :error is read; "" is FailCASObserved.
	FailCAS FailCAS
}

func (o JepsenOptions) key() string {
	if o.Key == "" {
		return JepsenKey
	}
	return o.Key
}

func (o JepsenOptions) failCAS(e *Event) {
	if e.Process != NemesisProcess && e.Type == Fail && e.F == "cas" && e.Error == "" && o.FailCAS != FailCASNeverHappened {
		e.Error = ErrCASMismatch
	}
}

// ReadJepsenEDN imports a Jepsen history.edn (see above). name is used in error messages, which are
// *ParseError: they give the line and say what was wrong.
func ReadJepsenEDN(r io.Reader, name string, opts JepsenOptions) ([]Event, error) {
	if _, err := ParseFailCAS(string(opts.FailCAS)); err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	in, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("history: %s: %w", name, err)
	}
	lines := newLineIndex(in)
	fail := func(off int, format string, args ...any) error {
		return &ParseError{Name: name, Line: lines.line(off), Err: fmt.Errorf(format, args...)}
	}
	if bad := checkUTF8(in); bad >= 0 {
		return nil, fail(bad, "not UTF-8 text")
	}
	var (
		out     []Event
		at      []int // the offset of each event, for errors found later
		timed   []bool
		indexed []bool
	)
	br := bufio.NewReaderSize(nil, 4096) // reused for every value
	pos := skipSpace(in, 0)
	var closer byte // a history written as one vector or list: its closing bracket
	open := pos
	if pos < len(in) && (in[pos] == '[' || in[pos] == '(') {
		closer = map[byte]byte{'[': ']', '(': ')'}[in[pos]]
		pos++
	}
	for {
		pos = skipSpace(in, pos)
		if pos >= len(in) {
			if closer != 0 {
				return nil, fail(open, "the %q opened here is never closed", closer)
			}
			break
		}
		if closer != 0 && in[pos] == closer {
			if end := skipSpace(in, pos+1); end < len(in) {
				return nil, fail(end, "unexpected %s after the history's closing %q", abbreviate(restOfLine(in, end)), closer)
			}
			break
		}
		raw, n, errOff, err := skim(in[pos:], br)
		if err != nil {
			if errOff >= 0 {
				return nil, fail(pos+errOff, "%v", err)
			}
			return nil, fail(pos, "%v", err)
		}
		var m map[string]any
		if in[pos] == '{' {
			m, err = ednPairs(in[pos : pos+n])
		} else {
			// Not a plain map: a tagged one, or something that is not an operation.
			var v any
			if err = safeDecode(func(v any) error { return edn.Unmarshal(raw, v) }, &v); err != nil {
				err = ednError(err)
			} else {
				m, err = opMap(v, in[pos:pos+n])
			}
		}
		if err != nil {
			return nil, fail(pos, "%v", err)
		}
		e, hasTime, hasIndex, err := ednEvent(m, opts)
		if err != nil {
			return nil, fail(pos, "%v", err)
		}
		if !hasIndex {
			e.Index = int64(len(out))
		}
		out = append(out, e)
		at = append(at, pos)
		timed = append(timed, hasTime)
		indexed = append(indexed, hasIndex)
		pos += n
	}
	if len(out) == 0 || timed[0] {
		tie := false
		for i := range out {
			if !timed[i] {
				return nil, fail(at[i], "no :time, but the first operation (line %d) has one: give :time on every operation or on none", lines.line(at[0]))
			}
			if i > 0 && out[i].Time < out[i-1].Time {
				return nil, fail(at[i], ":time %d is before the :time %d of the operation before it (line %d): Jepsen writes a history in real-time order, and here the times and the order disagree", out[i].Time, out[i-1].Time, lines.line(at[i-1]))
			}
			tie = tie || i > 0 && out[i].Time == out[i-1].Time
		}
		if !tie {
			return out, nil
		}
		// Equal times would make the operations around them overlap; the file order says which came first.
	}
	// The file order is the real-time order.
	prev := -1
	for i := range out {
		if timed[i] != timed[0] {
			return nil, fail(at[i], ":time, but the first operation (line %d) has none: give :time on every operation or on none", lines.line(at[0]))
		}
		if indexed[i] {
			if prev >= 0 && out[i].Index <= out[prev].Index {
				return nil, fail(at[i], ":index %d after :index %d (line %d): the file order is the real-time order here, and :index must follow it", out[i].Index, out[prev].Index, lines.line(at[prev]))
			}
			prev = i
		}
		out[i].Time = int64(i) * 1_000_000
	}
	return out, nil
}

// opMap returns the keys and values of one operation: a map, or a tagged map (#jepsen.history.Op{...}), whose
// text is raw.
func opMap(v any, raw []byte) (map[string]any, error) {
	switch x := v.(type) {
	case map[any]any:
	case edn.Tag:
		if _, ok := x.Value.(map[any]any); !ok {
			return nil, fmt.Errorf("want an EDN map for each operation, got #%s %s", x.Tagname, ednString(x.Value))
		}
		i := strings.IndexByte(string(raw), '{')
		if i < 0 {
			return nil, fmt.Errorf("want an EDN map for each operation, got %s", abbreviate(string(raw)))
		}
		raw = raw[i:]
	default:
		return nil, fmt.Errorf("want an EDN map for each operation, got %s", abbreviate(ednString(v)))
	}
	return ednPairs(raw)
}

func restOfLine(b []byte, off int) string {
	s := string(b[off:])
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

func ednEvent(m map[string]any, opts JepsenOptions) (e Event, hasTime, hasIndex bool, err error) {
	typ, err := keyword(m, "type")
	if err != nil {
		return e, false, false, err
	}
	e.Type = Type(typ)
	if !e.Type.Valid() {
		return e, false, false, fmt.Errorf(":type :%s is not one of :invoke, :ok, :fail, :info", typ)
	}
	if e.F, err = keyword(m, "f"); err != nil {
		return e, false, false, err
	}
	switch p := m["process"].(type) {
	case int64:
		if p < 0 {
			return e, false, false, fmt.Errorf(":process %d is negative", p)
		}
		if p > int64(^uint32(0)>>1) {
			return e, false, false, fmt.Errorf(":process %d is too large", p)
		}
		e.Process = Process(p)
	case edn.Keyword:
		if p != "nemesis" {
			return e, false, false, fmt.Errorf(":process :%s is neither an integer nor :nemesis", string(p))
		}
		e.Process = NemesisProcess
	case nil:
		return e, false, false, fmt.Errorf(":process is missing")
	default:
		return e, false, false, fmt.Errorf(":process %s is neither an integer nor :nemesis", ednString(p))
	}
	for _, f := range []struct {
		name string
		dst  *int64
		has  *bool
	}{{"time", &e.Time, &hasTime}, {"index", &e.Index, &hasIndex}} {
		switch v := m[f.name].(type) {
		case int64:
			if v < 0 {
				return e, false, false, fmt.Errorf(":%s %d is negative", f.name, v)
			}
			*f.dst, *f.has = v, true
		case nil:
		default:
			return e, false, false, fmt.Errorf(":%s %s is not an integer", f.name, ednString(v))
		}
	}
	if e.Value, err = ednJSON(m["value"]); err != nil {
		return e, false, false, fmt.Errorf(":value: %v", err)
	}
	if v, ok := m["error"]; ok && v != nil {
		e.Error = ednText(v)
	}
	switch v := m["node"].(type) {
	case string:
		e.Node = v
	case edn.Keyword:
		e.Node = string(v)
	}
	if e.Process != NemesisProcess {
		e.Key = opts.key()
		opts.failCAS(&e)
	}
	return e, hasTime, hasIndex, nil
}

// ReadJepsenLog imports the operations of a Jepsen log. Operation lines read
// "INFO jepsen.util - PROCESS :type :f VALUE [ERROR]", or "jepsen.util: PROCESS ..." as newer Jepsen writes
// them; lines of other loggers are skipped. name is used in error messages, which are *ParseError.
func ReadJepsenLog(r io.Reader, name string, opts JepsenOptions) ([]Event, error) {
	if _, err := ParseFailCAS(string(opts.FailCAS)); err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	var out []Event
	open := map[Process]json.RawMessage{} // invocation values, for completions that carry an error instead
	err := eachLine(r, name, func(text string) error {
		rest, ok := logOp(text)
		if !ok {
			return nil
		}
		if !utf8.ValidString(text) {
			return errors.New("not UTF-8 text") // as the EDN importer (found by fuzzing: it let bad bytes into Error)
		}
		var fields [3]string
		tail := rest
		for i := range fields {
			tail = strings.TrimLeft(tail, " \t")
			end := strings.IndexAny(tail, " \t")
			if end < 0 {
				end = len(tail)
			}
			fields[i], tail = tail[:end], tail[end:]
		}
		tail = strings.TrimSpace(tail)
		if fields[2] == "" || tail == "" {
			return fmt.Errorf("want PROCESS :type :f VALUE after \"jepsen.util\", got %q", strings.TrimSpace(rest))
		}
		e := Event{Index: int64(len(out)), Time: int64(len(out)) * 1_000_000}
		switch p := fields[0]; {
		case p == ":nemesis":
			e.Process = NemesisProcess
		default:
			n, err := strconv.ParseInt(p, 10, 32)
			if err != nil || n < 0 {
				return fmt.Errorf("process %q is neither a non-negative integer nor :nemesis", p)
			}
			e.Process = Process(n)
		}
		if !strings.HasPrefix(fields[1], ":") || !Type(fields[1][1:]).Valid() {
			return fmt.Errorf("type %q is not one of :invoke, :ok, :fail, :info", fields[1])
		}
		e.Type = Type(fields[1][1:])
		// The function must be a keyword as EDN has it (found by fuzzing: ':"' was taken for one).
		if f, _, _, err := decodeOne([]byte(fields[2])); err != nil || f == nil || ednString(f) != fields[2] || !isKeyword(f) {
			return fmt.Errorf("function %q is not a keyword", fields[2])
		}
		e.F = fields[2][1:]
		v, n, _, err := decodeOne([]byte(tail))
		if err != nil {
			if e.Process == NemesisProcess {
				// A nemesis value only describes the fault; keep what Jepsen printed.
				e.Value, _ = json.Marshal(tail)
				out = append(out, e)
				return nil
			}
			return fmt.Errorf("value: %v", err)
		}
		if after := strings.TrimSpace(tail[n:]); after != "" {
			e.Error = after
			if strings.HasPrefix(after, ":") && !strings.ContainsAny(after, " \t") {
				e.Error = after[1:]
			}
		}
		if kw, ok := v.(edn.Keyword); ok && e.Type != Invoke && e.Process != NemesisProcess {
			if e.Error == "" {
				e.Error = string(kw)
			}
			e.Value = open[e.Process]
			if e.Value == nil {
				e.Value = Null()
			}
		} else if e.Value, err = ednJSON(v); err != nil {
			return fmt.Errorf("value: %v", err)
		}
		if e.Process != NemesisProcess {
			e.Key = opts.key()
			if e.Type == Invoke {
				open[e.Process] = e.Value
			} else {
				delete(open, e.Process)
			}
			opts.failCAS(&e)
		}
		out = append(out, e)
		return nil
	})
	return out, err
}

func isKeyword(v any) bool {
	_, ok := v.(edn.Keyword)
	return ok
}

// logOp returns what follows the logger's name on an operation line of a Jepsen log.
func logOp(text string) (string, bool) {
	if _, rest, found := strings.Cut(text, "jepsen.util - "); found {
		return rest, true
	}
	// Newer Jepsen logs: "... INFO [jepsen worker 3] jepsen.util: 3	:invoke	:read	nil".
	if _, rest, found := strings.Cut(text, "jepsen.util: "); found {
		return rest, true
	}
	return "", false
}

// eachLine calls fn with each non-blank line, and wraps fn's errors in a *ParseError naming the line.
func eachLine(r io.Reader, name string, fn func(text string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<24)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		if err := fn(text); err != nil {
			return &ParseError{Name: name, Line: line, Err: err}
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = fmt.Errorf("line longer than %d bytes", 1<<24)
		}
		return &ParseError{Name: name, Line: line + 1, Err: err}
	}
	return nil
}
