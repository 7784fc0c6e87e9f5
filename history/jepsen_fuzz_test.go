package history

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/internal/vectorstest"
)

// The fuzzers' oracles. Each importer's output is written back out by an independent writer (below) in both of
// Jepsen's forms, read again, and compared: the two importers must agree with each other and with themselves.
// Any error must be a *ParseError naming a line that exists. And no input may panic.

// writeEDN writes events as Jepsen history.edn, one map a line; with times false, without :time and :index
// (so the file order is the order).
func writeEDN(tb testing.TB, events []Event, times bool) string {
	var b strings.Builder
	for _, e := range events {
		fmt.Fprintf(&b, "{:type :%s, :f :%s, :value %s, :process %s", e.Type, e.F, ednOf(tb, e.Value), ednProcess(e.Process))
		if times {
			fmt.Fprintf(&b, ", :time %d, :index %d", e.Time, e.Index)
		}
		if e.Error != "" {
			fmt.Fprintf(&b, ", :error %s", ednQuote(e.Error))
		}
		if e.Node != "" {
			fmt.Fprintf(&b, ", :node %s", ednQuote(e.Node))
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// writeLog writes events as a Jepsen log, as jepsen.util/log-op does: PROCESS :type :f VALUE, then the error.
func writeLog(tb testing.TB, events []Event) string {
	var b strings.Builder
	b.WriteString("INFO  jepsen.core - Running test\n")
	for _, e := range events {
		fmt.Fprintf(&b, "INFO  jepsen.util - %s\t:%s\t:%s\t%s", ednProcess(e.Process), e.Type, e.F, ednOf(tb, e.Value))
		if e.Error != "" {
			fmt.Fprintf(&b, "\t%s", e.Error)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func ednProcess(p Process) string {
	if p == NemesisProcess {
		return ":nemesis"
	}
	return strconv.Itoa(int(p))
}

// ednOf writes a JSON value as EDN: null as nil, objects as maps with string keys, integers too large for 64
// bits with Clojure's N.
func ednOf(tb testing.TB, raw json.RawMessage) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		tb.Fatalf("value %s is not JSON: %v", raw, err)
	}
	var b strings.Builder
	var write func(v any)
	write = func(v any) {
		switch x := v.(type) {
		case nil:
			b.WriteString("nil")
		case bool:
			b.WriteString(strconv.FormatBool(x))
		case json.Number:
			s := x.String()
			if _, err := strconv.ParseInt(s, 10, 64); err != nil {
				if _, ok := new(big.Int).SetString(s, 10); ok {
					s += "N"
				}
			}
			b.WriteString(s)
		case string:
			b.WriteString(ednQuote(x))
		case []any:
			b.WriteString("[")
			for i, y := range x {
				if i > 0 {
					b.WriteString(" ")
				}
				write(y)
			}
			b.WriteString("]")
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			b.WriteString("{")
			for i, k := range keys {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(ednQuote(k) + " ")
				write(x[k])
			}
			b.WriteString("}")
		default:
			tb.Fatalf("unexpected JSON value %T", v)
		}
	}
	write(v)
	return b.String()
}

// ednQuote writes an EDN string literal.
func ednQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// logWritable reports whether a Jepsen log can hold every event as it is: an error must be one line, with no
// blanks around it, and not look like a keyword (the reader drops a keyword's colon); a log has no nodes.
func logWritable(events []Event) bool {
	for _, e := range events {
		if e.Node != "" || strings.ContainsAny(e.Error, "\n\r") || strings.TrimSpace(e.Error) != e.Error ||
			strings.HasPrefix(e.Error, ":") || !utf8.ValidString(e.Error) {
			return false
		}
	}
	return true
}

// inFileOrder is events as an importer gives them when nothing but the file order is known: the n-th at n ms.
func inFileOrder(events []Event) []Event {
	out := append([]Event(nil), events...)
	for i := range out {
		out[i].Index, out[i].Time = int64(i), int64(i)*1_000_000
	}
	return out
}

// checkError requires err to be a *ParseError of file "f" naming a line of in.
func checkError(t *testing.T, in string, err error) {
	t.Helper()
	var pe *ParseError
	require.ErrorAs(t, err, &pe, "the error names no line")
	lines := strings.Count(in, "\n") + 1
	require.Equal(t, "f", pe.Name, "error %q", err)
	require.True(t, pe.Line >= 1 && pe.Line <= lines, "error %q names line %d; the input has %d lines", err, pe.Line, lines)
	require.True(t, strings.HasPrefix(err.Error(), fmt.Sprintf("f:%d: ", pe.Line)), "error %q does not start with its file and line", err)
}

// roundTrip requires that events, written out by the writers above in every form that can hold them, read back
// the same.
func roundTrip(t *testing.T, events []Event, opts JepsenOptions) {
	t.Helper()
	for _, e := range events {
		b, err := json.Marshal(e)
		require.NoError(t, err, "event %+v does not marshal", e)
		back, err := Read(bytes.NewReader(append(b, '\n')), "f")
		require.NoError(t, err, "event %s does not read back", b)
		require.Len(t, back, 1, "event %s does not read back as one event", b)
	}
	edn := writeEDN(t, events, true)
	got, err := ReadJepsenEDN(strings.NewReader(edn), "f", opts)
	require.NoError(t, err, "written as EDN:\n%s\ndoes not read back", edn)
	requireSame(t, events, got, "EDN with :time", edn)
	ordered := inFileOrder(events)
	edn = writeEDN(t, events, false)
	got, err = ReadJepsenEDN(strings.NewReader(edn), "f", opts)
	require.NoError(t, err, "written as EDN without :time:\n%s\ndoes not read back", edn)
	requireSame(t, ordered, got, "EDN without :time", edn)
	if logWritable(events) {
		log := writeLog(t, events)
		got, err = ReadJepsenLog(strings.NewReader(log), "f", opts)
		require.NoError(t, err, "written as a log:\n%s\ndoes not read back", log)
		requireSame(t, ordered, got, "log", log)
	}
}

func requireSame(t *testing.T, want, got []Event, form, text string) {
	t.Helper()
	require.Len(t, got, len(want), "%s: read back a different number of events\n%s", form, text)
	for i := range want {
		w, _ := json.Marshal(want[i])
		g, _ := json.Marshal(got[i])
		require.Equal(t, string(w), string(g), "%s: event %d, from:\n%s", form, i, text)
	}
}

// seedVectors adds the first lines of a few of the vectors (the smallest) to f's corpus.
func seedVectors(f *testing.F, ext string) {
	dir, err := vectorstest.Find()
	if err != nil {
		return // the hand-made seeds still run; the checker's vector tests fail on CI without the vectors
	}
	for _, name := range []string{"etcd_002", "etcd_005", "etcd_000"} {
		b, err := os.ReadFile(filepath.Join(dir, name+ext))
		if err != nil {
			continue // the hand-made seeds below still run
		}
		lines := strings.SplitAfter(string(b), "\n")
		f.Add(strings.Join(lines[:min(len(lines), 40)], ""))
	}
}

// watchdog panics, ending the fuzzing process so that the fuzzer keeps in as a failing input, when the
// returned stop is not called within a few seconds: an importer must never hang.
func watchdog(in string) (stop func()) {
	done := make(chan struct{})
	go func() {
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			panic(fmt.Sprintf("importer hung on %q", in))
		}
	}()
	return func() { close(done) }
}

// FuzzJepsenEDN: whatever ReadJepsenEDN accepts reads back the same from both forms; whatever it refuses, it
// refuses with a line.
func FuzzJepsenEDN(f *testing.F) {
	seedVectors(f, ".edn")
	f.Add("{:type :invoke, :f :cas, :value [1 4], :process 0, :time 0, :index 0}")
	f.Add(`{:type :info, :f :start, :value {:n1 [:n2 "n3"]}, :process :nemesis}`)
	f.Add("[{:process 0, :type :invoke, :f :write, :value 1}\n {:process 0, :type :ok, :f :write, :value 1}]")
	f.Add(`#jepsen.history.Op{:index 0, :type :fail, :f :cas, :value [1 2], :process 3, :error "no \"leader\""}`)
	f.Add("{:type :ok :f :read :process 0 :value #{1 2} :node \"n1\"}\n{:type :ok :f :read :process 0 :value 1.5e3 :x #inst \"2020-01-01T00:00:00Z\"}")
	f.Add("(;")
	f.Fuzz(func(t *testing.T, in string) {
		defer watchdog(in)()
		for _, opts := range []JepsenOptions{{}, {FailCAS: FailCASNeverHappened, Key: "k"}} {
			events, err := ReadJepsenEDN(strings.NewReader(in), "f", opts)
			if err != nil {
				checkError(t, in, err)
				continue
			}
			roundTrip(t, events, opts)
		}
	})
}

// FuzzJepsenLog: whatever ReadJepsenLog accepts reads back the same from both forms; whatever it refuses, it
// refuses with a line.
func FuzzJepsenLog(f *testing.F) {
	seedVectors(f, ".log")
	f.Add("INFO  jepsen.util - 3\t:ok\t:cas\t[1 4]")
	f.Add("INFO  jepsen.util - 3\t:invoke\t:write\t3\nINFO  jepsen.util - 3\t:info\t:write\t:timed-out")
	f.Add("INFO  jepsen.util - 1\t:invoke\t:cas\t[1 2]\nINFO  jepsen.util - 1\t:fail\t:cas\t[1 2]\tno leader here")
	f.Add("2024-01-02 10:00:00,123{GMT}\tINFO\t[jepsen nemesis] jepsen.util: :nemesis\t:info\t:start\t[:isolated {\"n1\" #{\"n2\"}}]")
	f.Fuzz(func(t *testing.T, in string) {
		defer watchdog(in)()
		for _, opts := range []JepsenOptions{{}, {FailCAS: FailCASNeverHappened, Key: "k"}} {
			events, err := ReadJepsenLog(strings.NewReader(in), "f", opts)
			if err != nil {
				checkError(t, in, err)
				continue
			}
			roundTrip(t, events, opts)
		}
	})
}
