package history

import (
	"encoding/json"
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
	got, err := ReadJepsenEDN(strings.NewReader(in), "h.edn", "")
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

	got, err = ReadJepsenEDN(strings.NewReader(`{:type :invoke :f :write :value 2 :process 0}`), "h.edn", "k7")
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
	got, err := ReadJepsenLog(strings.NewReader(in), "h.log", "")
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
		name, in, want string
	}{
		{"edn not a map", "[1 2]", "h.edn:1: not an EDN map"},
		{"edn no type", "{:f :read :process 0}", "h.edn:1: :type is missing"},
		{"edn bad type", "{:type :done :f :read :process 0}", "h.edn:1: :type :done is not one of"},
		{"edn type not keyword", `{:type "ok" :f :read :process 0}`, `h.edn:1: :type "ok" is not a keyword`},
		{"edn no process", "{:type :ok :f :read}", "h.edn:1: :process is missing"},
		{"edn bad process", "{:type :ok :f :read :process :other}", "h.edn:1: :process :other is neither"},
		{"edn negative process", "{:type :ok :f :read :process -1}", "h.edn:1: :process -1 is negative"},
		{"edn bad time", `{:type :ok :f :read :process 0 :time "x"}`, `h.edn:1: :time "x" is not an integer`},
		{"edn unclosed", "{:type :ok :f :read", "h.edn:1: column 20: unexpected end of input, want '}'"},
		{"edn trailing", "{:type :ok :f :read :process 0} }", "h.edn:1: column 33: unexpected \"}\" after the value"},
		{"edn dup key", "{:type :ok :type :ok}", "h.edn:1: column 12: duplicate key :type"},
		{"edn set", "{:type :ok :f :read :process 0 :value #{1}}", "h.edn:1: column 39: tagged literals and sets"},
		{"edn big int", "{:type :ok :f :read :process 0 :value 99999999999999999999}", `h.edn:1: column 39: "99999999999999999999" is not a 64-bit integer`},
		{"edn odd map", "{:type}", "h.edn:1: column 7: key :type has no value"},
		{"edn comment inside", "(; comment", "h.edn:1: column 11: unexpected end of input, want ')'"},
		{"edn lone delimiter", `{:type :ok :f :read :process 0 :value "x" :error }`, "h.edn:1: column 50: key :error has no value"},
		{"edn later line", "{:type :ok :f :read :process 0}\n\n{:type :ok :f :read :process x}", "h.edn:3: :process x is neither"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadJepsenEDN(strings.NewReader(c.in), "h.edn", "")
			require.Error(t, err)
			require.True(t, strings.HasPrefix(err.Error(), c.want), "error %q does not start with %q", err, c.want)
		})
	}
	for _, c := range []struct {
		name, in, want string
	}{
		{"log short", "INFO jepsen.util - 0 :invoke", `h.log:1: want PROCESS :type :f VALUE after "jepsen.util - ", got "0 :invoke"`},
		{"log bad process", "INFO jepsen.util - x\t:invoke\t:read\tnil", `h.log:1: process "x" is neither`},
		{"log bad type", "INFO jepsen.util - 0\t:begin\t:read\tnil", `h.log:1: type ":begin" is not one of`},
		{"log bad f", "INFO jepsen.util - 0\t:invoke\tread\tnil", `h.log:1: function "read" is not a keyword`},
		{"log bad value", "INFO jepsen.util - 0\t:invoke\t:cas\t[1 4", "h.log:1: value: column 5: unexpected end of input, want ']'"},
		{"log second line", "INFO jepsen.util - 0\t:invoke\t:read\tnil\nINFO jepsen.util - 0\t:ok\t:read\t{", "h.log:2: value:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadJepsenLog(strings.NewReader(c.in), "h.log", "")
			require.ErrorContains(t, err, c.want)
		})
	}
}

func TestReadJepsenFile(t *testing.T) {
	dir := t.TempDir()
	edn := filepath.Join(dir, "history.edn")
	require.NoError(t, os.WriteFile(edn, []byte("{:type :invoke, :f :write, :value 1, :process 0, :time 0, :index 0}\n"), 0o644))
	log := filepath.Join(dir, "jepsen.log")
	require.NoError(t, os.WriteFile(log, []byte("INFO  jepsen.util - 0\t:invoke\t:write\t1\n"), 0o644))
	a, err := ReadJepsenFile(edn, "")
	require.NoError(t, err)
	b, err := ReadJepsenFile(log, "")
	require.NoError(t, err)
	require.Equal(t, a, b)
	_, err = ReadJepsenFile(filepath.Join(dir, "none.edn"), "")
	require.ErrorContains(t, err, "none.edn")
}

// FuzzJepsen feeds arbitrary text to both importers: they must return events or an error, never panic, and
// every event they return must survive the JSONL round trip.
func FuzzJepsen(f *testing.F) {
	f.Add("{:type :invoke, :f :cas, :value [1 4], :process 0, :time 0, :index 0}")
	f.Add(`{:type :info, :f :start, :value {:n1 [:n2 "n3"]}, :process :nemesis}`)
	f.Add("INFO  jepsen.util - 3\t:ok\t:cas\t[1 4]")
	f.Add("INFO  jepsen.util - 3\t:info\t:write\t:timed-out")
	f.Add("(;") // found by this fuzzer: a comment inside a list once panicked the parser
	f.Fuzz(func(t *testing.T, in string) {
		for _, read := range []func() ([]Event, error){
			func() ([]Event, error) { return ReadJepsenEDN(strings.NewReader(in), "f", "") },
			func() ([]Event, error) { return ReadJepsenLog(strings.NewReader(in), "f", "") },
		} {
			events, err := read()
			if err != nil {
				continue
			}
			for _, e := range events {
				b, err := json.Marshal(e)
				if err != nil {
					t.Fatalf("event %+v does not marshal: %v", e, err)
				}
				if _, err := Read(strings.NewReader(string(b)+"\n"), "f"); err != nil {
					t.Fatalf("event %s does not read back: %v", b, err)
				}
			}
		}
	})
}
