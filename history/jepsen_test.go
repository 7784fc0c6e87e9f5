package history

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReadJepsenEDN(t *testing.T) {
	in := strings.Join([]string{
		`{:type :invoke, :f :read, :value nil, :process 0, :time 0, :index 0}`,
		`{:type :invoke, :f :cas, :value [1 4], :process 1, :time 5, :index 1}`,
		``,
		`{:type :ok, :f :read, :value 3, :process 0, :time 7, :index 2}`,
		`{:type :fail, :f :cas, :value [1 4], :process 1, :time 9, :index 3}`,
		`{:type :invoke, :f :write, :value 2, :process 2, :time 10, :index 4}`,
		`{:type :info, :f :write, :value 2, :error :timed-out, :process 2, :time 11, :index 5}`,
		`{:type :info, :f :start, :value {:n1 [:n2 "n3"]}, :process :nemesis, :time 12, :index 6}`,
		`{:type :invoke, :f :read, :value nil, :process 3, :time 13, :index 7, :node "n2"}`,
		`{:type :fail, :f :read, :value nil, :process 3, :time 14, :index 8, :error "no leader"}`,
	}, "\n")
	got, err := ReadJepsenEDN(strings.NewReader(in), "h.edn", JepsenOptions{})
	require.NoError(t, err)
	want := []Event{
		{Index: 0, Time: 0, Process: 0, Type: Invoke, F: "read", Key: "r", Value: Null()},
		{Index: 1, Time: 5, Process: 1, Type: Invoke, F: "cas", Key: "r", Value: Pair(1, 4)},
		{Index: 2, Time: 7, Process: 0, Type: Ok, F: "read", Key: "r", Value: Int(3)},
		{Index: 3, Time: 9, Process: 1, Type: Fail, F: "cas", Key: "r", Value: Pair(1, 4), Error: ErrCASMismatch},
		{Index: 4, Time: 10, Process: 2, Type: Invoke, F: "write", Key: "r", Value: Int(2)},
		{Index: 5, Time: 11, Process: 2, Type: Info, F: "write", Key: "r", Value: Int(2), Error: "timed-out"},
		{Index: 6, Time: 12, Process: NemesisProcess, Type: Info, F: "start", Value: json.RawMessage(`{"n1":["n2","n3"]}`)},
		{Index: 7, Time: 13, Process: 3, Type: Invoke, F: "read", Key: "r", Value: Null(), Node: "n2"},
		{Index: 8, Time: 14, Process: 3, Type: Fail, F: "read", Key: "r", Value: Null(), Error: "no leader"},
	}
	require.Equal(t, want, got)

	got, err = ReadJepsenEDN(strings.NewReader(`{:type :invoke :f :write :value 2 :process 0}`), "h.edn", JepsenOptions{Key: "k7"})
	require.NoError(t, err)
	require.Equal(t, []Event{{Process: 0, Type: Invoke, F: "write", Key: "k7", Value: Int(2)}}, got)
}

func TestReadJepsenLog(t *testing.T) {
	in := strings.Join([]string{
		"INFO  jepsen.core - Running test",
		"INFO  jepsen.util - 0\t:invoke\t:read\tnil",
		"INFO  jepsen.util - 1\t:invoke\t:cas\t[1 4]",
		"INFO  jepsen.util - 0\t:ok\t:read\t3",
		"INFO  jepsen.util - 1\t:fail\t:cas\t[1 4]",
		"INFO  jepsen.util - 2\t:invoke\t:write\t2",
		"INFO  jepsen.util - 2\t:info\t:write\t:timed-out",
		"INFO  jepsen.util - 3\t:invoke\t:read\tnil",
		"INFO  jepsen.util - 3\t:fail\t:read\t:timed-out",
		"2024-01-02 10:00:00,123{GMT}\tINFO\t[jepsen nemesis] jepsen.util: :nemesis\t:info\t:start\t[:isolated {:n1 [:n2]}]",
	}, "\n")
	got, err := ReadJepsenLog(strings.NewReader(in), "h.log", JepsenOptions{})
	require.NoError(t, err)
	ms := int64(1_000_000)
	want := []Event{
		{Index: 0, Time: 0, Process: 0, Type: Invoke, F: "read", Key: "r", Value: Null()},
		{Index: 1, Time: ms, Process: 1, Type: Invoke, F: "cas", Key: "r", Value: Pair(1, 4)},
		{Index: 2, Time: 2 * ms, Process: 0, Type: Ok, F: "read", Key: "r", Value: Int(3)},
		{Index: 3, Time: 3 * ms, Process: 1, Type: Fail, F: "cas", Key: "r", Value: Pair(1, 4), Error: ErrCASMismatch},
		{Index: 4, Time: 4 * ms, Process: 2, Type: Invoke, F: "write", Key: "r", Value: Int(2)},
		{Index: 5, Time: 5 * ms, Process: 2, Type: Info, F: "write", Key: "r", Value: Int(2), Error: "timed-out"},
		{Index: 6, Time: 6 * ms, Process: 3, Type: Invoke, F: "read", Key: "r", Value: Null()},
		{Index: 7, Time: 7 * ms, Process: 3, Type: Fail, F: "read", Key: "r", Value: Null(), Error: "timed-out"},
		{Index: 8, Time: 8 * ms, Process: NemesisProcess, Type: Info, F: "start", Value: json.RawMessage(`["isolated",{"n1":["n2"]}]`)},
	}
	require.Equal(t, want, got)
}

func TestJepsenErrors(t *testing.T) {
	for _, c := range []struct {
		name, in string
		line     int
		want     string
	}{
		{"edn not a map", "[1 2]", 1, "want an EDN map for each operation, got 1"},
		{"edn no type", "{:f :read :process 0}", 1, ":type is missing"},
		{"edn bad type", "{:type :done :f :read :process 0}", 1, ":type :done is not one of"},
		{"edn type not keyword", `{:type "ok" :f :read :process 0}`, 1, `:type "ok" is not a keyword`},
		{"edn no process", "{:type :ok :f :read}", 1, ":process is missing"},
		{"edn bad process", "{:type :ok :f :read :process :other}", 1, ":process :other is neither"},
		{"edn negative process", "{:type :ok :f :read :process -1}", 1, ":process -1 is negative"},
		{"edn bad time", `{:type :ok :f :read :process 0 :time "x"}`, 1, `:time "x" is not an integer`},
		{"edn unclosed", "{:type :ok :f :read", 1, "the input ends inside a value"},
		{"edn unclosed later", "{:type :ok :f :read :process 0}\n{:type :ok\n :f :read", 2, "the input ends inside a value"},
		{"edn stray closer", "{:type :ok :f :read :process 0} }", 1, "unexpected token"},
		{"edn dup key", "{:type :ok :type :ok}", 1, "duplicate key :type"},
		{"edn big int", "{:type :ok :f :read :process 0 :value 99999999999999999999}", 1, "cannot unmarshal int 99999999999999999999"},
		{"edn odd map", "{:type}", 1, "key :type has no value"},
		{"edn key not keyword", `{"type" :ok}`, 1, `map key "type" is not a keyword`},
		{"edn comment inside", "(; comment", 1, `the ')' opened here is never closed`},
		{"edn vector not closed", "[{:type :invoke :f :read :process 0}\n {:type :ok :f :read :process 0}", 1, `the ']' opened here is never closed`},
		{"edn after vector", "[{:type :invoke :f :read :process 0}]\n{:type :ok :f :read :process 0}", 2, "after the history's closing ']'"},
		{"edn bad string escape", "\n{:type :ok :f :read :process 0 :error \"\\q\"}", 2, "escape"},
		{"edn later line", "{:type :ok :f :read :process 0}\n\n{:type :ok :f :read :process x}", 3, ":process x is neither"},
		{"edn not utf8", "{:type :ok :f :read :process 0}\n{:type :ok :f \xff}", 2, "not UTF-8"},
		{"edn some times", "{:type :invoke :f :read :process 0 :time 5}\n{:type :ok :f :read :process 0}", 2, "no :time, but the first operation (line 1) has one"},
		{"edn late time", "{:type :invoke :f :read :process 0}\n\n{:type :ok :f :read :process 0 :time 5}", 3, ":time, but the first operation (line 1) has none"},
		{"edn time goes back", "{:type :invoke :f :read :process 0 :time 5}\n{:type :ok :f :read :process 0 :time 4}", 2, ":time 4 is before the :time 5 of the operation before it (line 1)"},
		{"edn tie, index out of order", "{:type :invoke :f :read :process 0 :time 5 :index 1}\n{:type :ok :f :read :process 0 :time 5 :index 0}", 2, ":index 0 after :index 1 (line 1)"},
		{"edn index out of order", "{:type :invoke :f :read :process 0 :index 4}\n{:type :ok :f :read :process 0 :index 2}", 2, ":index 2 after :index 4 (line 1)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadJepsenEDN(strings.NewReader(c.in), "h.edn", JepsenOptions{})
			var pe *ParseError
			require.ErrorAs(t, err, &pe)
			require.Equal(t, "h.edn", pe.Name)
			require.Equal(t, c.line, pe.Line, "%v", err)
			require.ErrorContains(t, err, c.want)
			require.True(t, strings.HasPrefix(err.Error(), fmt.Sprintf("h.edn:%d: ", c.line)), "%v", err)
		})
	}
	for _, c := range []struct {
		name, in string
		line     int
		want     string
	}{
		{"log short", "INFO jepsen.util - 0 :invoke", 1, `want PROCESS :type :f VALUE after "jepsen.util", got "0 :invoke"`},
		{"log bad process", "INFO jepsen.util - x\t:invoke\t:read\tnil", 1, `process "x" is neither`},
		{"log bad type", "INFO jepsen.util - 0\t:begin\t:read\tnil", 1, `type ":begin" is not one of`},
		{"log bad f", "INFO jepsen.util - 0\t:invoke\tread\tnil", 1, `function "read" is not a keyword`},
		{"log not utf8", "INFO jepsen.util - 0\t:invoke\t:read\tnil\nINFO jepsen.util - 0\t:ok\t:read\tnil\t\xff", 2, "not UTF-8"},
		{"log f not EDN", "INFO jepsen.util - 0\t:invoke\t:\"\t0", 1, `function ":\"" is not a keyword`},
		{"log bad value", "INFO jepsen.util - 0\t:invoke\t:cas\t[1 4", 1, "value: bad EDN: the input ends inside a value"},
		{"log second line", "INFO jepsen.util - 0\t:invoke\t:read\tnil\nINFO jepsen.util - 0\t:ok\t:read\t{", 2, "value:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadJepsenLog(strings.NewReader(c.in), "h.log", JepsenOptions{})
			var pe *ParseError
			require.ErrorAs(t, err, &pe)
			require.Equal(t, c.line, pe.Line, "%v", err)
			require.ErrorContains(t, err, c.want)
			require.True(t, strings.HasPrefix(err.Error(), fmt.Sprintf("h.log:%d: ", c.line)), "%v", err)
		})
	}
}

// TestEDNWithoutTimeKeepsFileOrder: maps with no :time (Knossos's histories) take their real-time order from
// the file, 1 ms a line as the log importer does, whether they carry :index or not, and whether they are
// written one a line or as one vector. Before, every such event had time 0, and all looked concurrent.
func TestEDNWithoutTimeKeepsFileOrder(t *testing.T) {
	ms := int64(1_000_000)
	want := []Event{
		{Index: 0, Time: 0, Process: 0, Type: Invoke, F: "write", Key: "r", Value: Int(1)},
		{Index: 1, Time: ms, Process: 0, Type: Ok, F: "write", Key: "r", Value: Int(1)},
		{Index: 2, Time: 2 * ms, Process: 1, Type: Invoke, F: "read", Key: "r", Value: Null()},
		{Index: 3, Time: 3 * ms, Process: 1, Type: Ok, F: "read", Key: "r", Value: Null()},
	}
	for name, in := range map[string]string{
		"index only": `{:type :invoke, :f :write, :value 1, :process 0, :index 0}
{:type :ok, :f :write, :value 1, :process 0, :index 1}
{:type :invoke, :f :read, :value nil, :process 1, :index 2}
{:type :ok, :f :read, :value nil, :process 1, :index 3}`,
		"knossos vector": `[{:process 0, :type :invoke, :f :write, :value 1}
 {:process 0, :type :ok, :f :write, :value 1}
 ; a comment between operations
 {:process 1, :type :invoke, :f :read, :value nil}
 {:process 1, :type :ok, :f :read, :value nil}]
`,
		"equal times": `{:type :invoke, :f :write, :value 1, :process 0, :time 7, :index 0}
{:type :ok, :f :write, :value 1, :process 0, :time 9, :index 1}
{:type :invoke, :f :read, :value nil, :process 1, :time 9, :index 2}
{:type :ok, :f :read, :value nil, :process 1, :time 12, :index 3}`,
		"one line, tagged records": `#jepsen.history.Op{:index 0, :type :invoke, :process 0, :f :write, :value 1} #jepsen.history.Op{:index 1, :type :ok, :process 0, :f :write, :value 1}, {:index 2 :type :invoke :process 1 :f :read :value nil} {:index 3 :type :ok :process 1 :f :read :value nil}`,
	} {
		t.Run(name, func(t *testing.T) {
			got, err := ReadJepsenEDN(strings.NewReader(in), "h.edn", JepsenOptions{})
			require.NoError(t, err)
			require.Equal(t, want, got)
		})
	}
}

// TestJepsenFailCAS: a :fail :cas with no :error is a cas-mismatch by default, and a plain fail with
// never-happened; one with an :error is a plain fail either way.
func TestJepsenFailCAS(t *testing.T) {
	edn := "{:type :invoke :f :cas :value [1 2] :process 0}\n{:type :fail :f :cas :value [1 2] :process 0}\n" +
		"{:type :invoke :f :cas :value [1 2] :process 1}\n{:type :fail :f :cas :value [1 2] :process 1 :error :no-leader}\n"
	log := "INFO jepsen.util - 0\t:invoke\t:cas\t[1 2]\nINFO jepsen.util - 0\t:fail\t:cas\t[1 2]\n" +
		"INFO jepsen.util - 1\t:invoke\t:cas\t[1 2]\nINFO jepsen.util - 1\t:fail\t:cas\t[1 2]\t:no-leader\n"
	for _, c := range []struct {
		opts JepsenOptions
		want string
	}{{JepsenOptions{}, ErrCASMismatch}, {JepsenOptions{FailCAS: FailCASObserved}, ErrCASMismatch}, {JepsenOptions{FailCAS: FailCASNeverHappened}, ""}} {
		a, err := ReadJepsenEDN(strings.NewReader(edn), "h.edn", c.opts)
		require.NoError(t, err)
		b, err := ReadJepsenLog(strings.NewReader(log), "h.log", c.opts)
		require.NoError(t, err)
		require.Equal(t, a, b)
		require.Equal(t, c.want, a[1].Error, "%+v", c.opts)
		require.Equal(t, "no-leader", a[3].Error)
		require.Equal(t, Pair(1, 2), a[1].Value)
	}
	_, err := ReadJepsenEDN(strings.NewReader(edn), "h.edn", JepsenOptions{FailCAS: "sometimes"})
	require.ErrorContains(t, err, `unknown fail-cas reading "sometimes"`)
	_, err = ReadJepsenLog(strings.NewReader(log), "h.log", JepsenOptions{FailCAS: "sometimes"})
	require.ErrorContains(t, err, `unknown fail-cas reading "sometimes"`)
}

// TestJepsenNemesisValues: nemesis values, which Jepsen prints with sets, tags and string keys, become JSON.
func TestJepsenNemesisValues(t *testing.T) {
	edn := `{:type :info, :f :start, :process :nemesis, :value [:isolated {"n1" #{"n3" "n2"}}], :time 7}`
	got, err := ReadJepsenEDN(strings.NewReader(edn), "h.edn", JepsenOptions{})
	require.NoError(t, err)
	require.Equal(t, []Event{{Index: 0, Time: 7, Process: NemesisProcess, Type: Info, F: "start", Value: json.RawMessage(`["isolated",{"n1":["n2","n3"]}]`)}}, got)
	log := "INFO jepsen.util - :nemesis\t:info\t:start\t#object[java.lang.Thread \"t\"]\n" +
		"INFO jepsen.util - :nemesis\t:info\t:stop\t#object[java.lang.Thread 0x6d06d69c \"t\"]\n"
	got, err = ReadJepsenLog(strings.NewReader(log), "h.log", JepsenOptions{})
	require.NoError(t, err)
	require.JSONEq(t, `{"#object":["java.lang.Thread","t"]}`, string(got[0].Value))
	require.JSONEq(t, `"#object[java.lang.Thread 0x6d06d69c \"t\"]"`, string(got[1].Value), "a nemesis value that is not EDN is kept as text")
}

func TestDetectFormat(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     Format
	}{
		{"h.jsonl", `{"index":0,"time":1,"process":0,"type":"invoke","f":"read","key":"k","value":null}` + "\n", FormatSkeptic},
		{"h.log", `{"index":0,"time":1,"proc`, FormatSkeptic}, // a torn first line: still skeptic's, by content
		{"h.txt", "\n\n{:type :invoke, :f :read, :value nil, :process 0}\n", FormatJepsenEDN},
		{"h.jsonl", "; comment\n[{:process 0 :type :invoke :f :read :value nil}]", FormatJepsenEDN},
		{"h.edn", "#jepsen.history.Op{:index 0}", FormatJepsenEDN},
		{"h.edn", "INFO  jepsen.core - Running test\n[x] INFO  jepsen.util - 0\t:invoke\t:read\tnil\n", FormatJepsenLog},
		{"h", "2024-01-02 10:00:00,123{GMT}\tINFO\t[jepsen worker 3] jepsen.util: 3\t:invoke\t:read\tnil\n", FormatJepsenLog},
		{"empty.edn", "", FormatJepsenEDN},
		{"empty.log", "\n \n", FormatJepsenLog},
		{"empty.jsonl", "", FormatSkeptic},
	} {
		got, err := DetectFormat([]byte(c.in), c.name)
		require.NoError(t, err, "%s %q", c.name, c.in)
		require.Equal(t, c.want, got, "%s %q", c.name, c.in)
	}
	_, err := DetectFormat([]byte("hello\nINFO jepsen.core - Running test\n"), "h.edn")
	var fe *FormatError
	require.ErrorAs(t, err, &fe)
	require.ErrorContains(t, err, `h.edn: cannot tell the format: tried skeptic (the first line is not a JSON object: "hello"); jepsen-log (no "jepsen.util" operation line`)
	require.ErrorContains(t, err, "jepsen-edn (it does not start with an EDN map or vector); name the format (jepsen-edn, jepsen-log, skeptic)")
}

func TestReadFileFormat(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		return p
	}
	// Extensions that lie: the content decides.
	edn := write("history.log", "{:type :invoke, :f :write, :value 1, :process 0, :time 0, :index 0}\n")
	log := write("history.edn", "INFO  jepsen.util - 0\t:invoke\t:write\t1\n")
	jsonl := write("history.edn.bak", `{"index":0,"time":0,"process":0,"type":"invoke","f":"write","key":"r","value":1}`+"\n")
	want := []Event{{Process: 0, Type: Invoke, F: "write", Key: "r", Value: Int(1)}}
	for path, format := range map[string]Format{edn: FormatJepsenEDN, log: FormatJepsenLog, jsonl: FormatSkeptic} {
		got, f, err := ReadFileFormat(path, FormatAuto, JepsenOptions{})
		require.NoError(t, err)
		require.Equal(t, format, f)
		require.Equal(t, want, got)
		got, f, err = ReadFileFormat(path, format, JepsenOptions{})
		require.NoError(t, err)
		require.Equal(t, format, f)
		require.Equal(t, want, got)
	}
	// A format named wrongly fails, naming the file and line.
	_, _, err := ReadFileFormat(jsonl, FormatJepsenEDN, JepsenOptions{})
	require.ErrorContains(t, err, jsonl+`:1: bad EDN`)
	_, _, err = ReadFileFormat(edn, FormatJepsenLog, JepsenOptions{})
	require.ErrorContains(t, err, edn+": not a Jepsen log: no operation line")
	events, _, err := ReadFileFormat(write("empty.log", "\n"), FormatJepsenLog, JepsenOptions{})
	require.NoError(t, err, "an empty log is empty, not malformed")
	require.Empty(t, events)
	_, _, err = ReadFileFormat(edn, "xml", JepsenOptions{})
	require.ErrorContains(t, err, `unknown format "xml"; want one of jepsen-edn, jepsen-log, skeptic`)
	_, _, err = ReadFileFormat(filepath.Join(dir, "none.edn"), FormatAuto, JepsenOptions{})
	require.ErrorContains(t, err, "none.edn")
	_, _, err = ReadFileFormat(write("junk", "hello\n"), FormatAuto, JepsenOptions{})
	require.ErrorContains(t, err, "cannot tell the format")
}

// BenchmarkJepsenImport imports 10,000 operations in each of Jepsen's forms; ns/op is per history.
func BenchmarkJepsenImport(b *testing.B) {
	var edn, log strings.Builder
	for i := range 10_000 {
		fmt.Fprintf(&edn, "{:type :invoke, :f :cas, :value [%d %d], :process %d, :time %d, :index %d}\n", i%5, i%7, i, i*1000, i)
		fmt.Fprintf(&log, "INFO  jepsen.util - %d\t:invoke\t:cas\t[%d %d]\n", i, i%5, i%7)
	}
	b.Run("edn", func(b *testing.B) {
		for b.Loop() {
			if _, err := ReadJepsenEDN(strings.NewReader(edn.String()), "b", JepsenOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("log", func(b *testing.B) {
		for b.Loop() {
			if _, err := ReadJepsenLog(strings.NewReader(log.String()), "b", JepsenOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
