package checker

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/history"
)

// hist builds a history; each event gets the next index and time = 10 * index.
type hist struct{ ev []history.Event }

func (h *hist) add(p history.Process, t history.Type, f, key string, v json.RawMessage, errStr string) *hist {
	n := int64(len(h.ev))
	h.ev = append(h.ev, history.Event{Index: n, Time: 10 * n, Process: p, Type: t, F: f, Key: key, Value: v, Error: errStr})
	return h
}

func (h *hist) inv(p history.Process, f, key string, v json.RawMessage) *hist {
	return h.add(p, history.Invoke, f, key, v, "")
}
func (h *hist) ok(p history.Process, f, key string, v json.RawMessage) *hist {
	return h.add(p, history.Ok, f, key, v, "")
}
func (h *hist) info(p history.Process, f, key string, v json.RawMessage) *hist {
	return h.add(p, history.Info, f, key, v, "timed out")
}
func (h *hist) fail(p history.Process, f, key string, v json.RawMessage, e string) *hist {
	return h.add(p, history.Fail, f, key, v, e)
}

// Whole operations, invoked and completed back to back.
func (h *hist) write(p history.Process, key string, v int64) *hist {
	return h.inv(p, "write", key, history.Int(v)).ok(p, "write", key, history.Int(v))
}
func (h *hist) read(p history.Process, key string, v json.RawMessage) *hist {
	return h.inv(p, "read", key, history.Null()).ok(p, "read", key, v)
}

var null = history.Null()

func check(t *testing.T, h *hist) Result {
	t.Helper()
	res, err := Check(h.ev, Options{Timeout: 10 * time.Second})
	require.NoError(t, err)
	return res
}

func TestVerdicts(t *testing.T) {
	i := history.Int
	for _, c := range []struct {
		name string
		h    *hist
		want Verdict
	}{
		{"empty", &hist{}, Valid},
		{"read of nothing is null", new(hist).read(0, "a", null), Valid},
		{"write then read", new(hist).write(0, "a", 1).read(1, "a", i(1)), Valid},
		{"read of a value never written", new(hist).write(0, "a", 1).read(1, "a", i(2)), Invalid},
		{"read of null after a write", new(hist).write(0, "a", 1).read(1, "a", null), Invalid},
		{"stale read after an ok write", new(hist).write(0, "a", 1).write(0, "a", 2).read(1, "a", i(1)), Invalid},
		{"concurrent read may see either", new(hist).write(0, "a", 1).
			inv(0, "write", "a", i(2)).read(1, "a", i(1)).ok(0, "write", "a", i(2)).read(1, "a", i(2)), Valid},
		{"cas ok", new(hist).write(0, "a", 1).
			inv(1, "cas", "a", history.Pair(1, 2)).ok(1, "cas", "a", history.Pair(1, 2)).read(0, "a", i(2)), Valid},
		{"cas ok from the wrong value", new(hist).write(0, "a", 1).
			inv(1, "cas", "a", history.Pair(3, 2)).ok(1, "cas", "a", history.Pair(3, 2)), Invalid},

		// Unknown outcomes.
		{"info write later read", new(hist).write(0, "a", 1).
			inv(1, "write", "a", i(2)).info(1, "write", "a", i(2)).read(0, "a", i(1)).read(0, "a", i(2)), Valid},
		{"info write never applied", new(hist).write(0, "a", 1).
			inv(1, "write", "a", i(2)).info(1, "write", "a", i(2)).read(0, "a", i(1)), Valid},
		{"info write cannot unapply", new(hist).write(0, "a", 1).
			inv(1, "write", "a", i(2)).info(1, "write", "a", i(2)).read(0, "a", i(2)).read(0, "a", i(1)), Invalid},
		{"info cas applies later", new(hist).write(0, "a", 1).
			inv(1, "cas", "a", history.Pair(1, 5)).info(1, "cas", "a", history.Pair(1, 5)).read(0, "a", i(1)).read(0, "a", i(5)), Valid},
		{"info cas from a value never there", new(hist).write(0, "a", 1).
			inv(1, "cas", "a", history.Pair(3, 5)).info(1, "cas", "a", history.Pair(3, 5)).read(0, "a", i(5)), Invalid},
		{"never completed counts as info", new(hist).write(0, "a", 1).
			inv(1, "write", "a", i(3)).read(0, "a", i(3)), Valid},
		{"never completed cannot invent", new(hist).write(0, "a", 1).
			inv(1, "write", "a", i(3)).read(0, "a", i(4)), Invalid},
		{"info read is dropped", new(hist).write(0, "a", 1).
			inv(1, "read", "a", null).info(1, "read", "a", null), Valid},
		{"never completed read is dropped", new(hist).write(0, "a", 1).inv(1, "read", "a", null), Valid},
		{"fail read is dropped", new(hist).write(0, "a", 1).
			inv(1, "read", "a", null).fail(1, "read", "a", i(9), "timed-out"), Valid},
		{"a failed write never happened", new(hist).write(0, "a", 1).
			inv(1, "write", "a", i(2)).fail(1, "write", "a", i(2), "no leader").read(0, "a", i(2)), Invalid},

		// cas-mismatch is an observation.
		{"mismatch jepsen form", new(hist).write(0, "a", 1).
			inv(1, "cas", "a", history.Pair(2, 3)).fail(1, "cas", "a", history.Pair(2, 3), history.ErrCASMismatch), Valid},
		{"mismatch contradicts the only value", new(hist).write(0, "a", 1).
			inv(1, "cas", "a", history.Pair(1, 3)).fail(1, "cas", "a", history.Pair(1, 3), history.ErrCASMismatch), Invalid},
		{"mismatch saw the value", new(hist).write(0, "a", 1).
			inv(1, "cas", "a", history.Pair(2, 3)).fail(1, "cas", "a", i(1), history.ErrCASMismatch), Valid},
		{"mismatch saw a value never there", new(hist).write(0, "a", 1).
			inv(1, "cas", "a", history.Pair(2, 3)).fail(1, "cas", "a", i(7), history.ErrCASMismatch), Invalid},
		{"mismatch saw null after a write", new(hist).write(0, "a", 1).
			inv(1, "cas", "a", history.Pair(2, 3)).fail(1, "cas", "a", null, history.ErrCASMismatch), Invalid},
		{"mismatch concurrent with the write", new(hist).write(0, "a", 1).
			inv(0, "write", "a", i(2)).inv(1, "cas", "a", history.Pair(2, 3)).fail(1, "cas", "a", i(1), history.ErrCASMismatch).
			ok(0, "write", "a", i(2)), Valid},
		{"other cas failure is dropped", new(hist).write(0, "a", 1).
			inv(1, "cas", "a", history.Pair(1, 3)).fail(1, "cas", "a", history.Pair(1, 3), "status 503: no leader").read(0, "a", i(1)), Valid},

		// Keys are independent; nemesis events are ignored.
		{"keys are independent", new(hist).write(0, "a", 1).write(0, "b", 2).read(1, "a", i(1)).read(1, "b", i(2)), Valid},
		{"one bad key fails the history", new(hist).write(0, "a", 1).write(0, "b", 2).read(1, "a", i(2)), Invalid},
		{"nemesis ignored", new(hist).write(0, "a", 1).
			add(history.NemesisProcess, history.Info, "start-partition", "", json.RawMessage(`{"n1":["n2"]}`), "").
			read(1, "a", i(1)), Valid},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := check(t, c.h)
			require.Equal(t, c.want, res.Verdict, "keys %+v", res.Keys)
		})
	}
}

func TestPerKeyResults(t *testing.T) {
	h := new(hist).write(0, "a", 1).write(1, "b", 2).read(2, "a", history.Int(5)).read(2, "b", history.Int(2)).
		inv(3, "write", "c", history.Int(1)).info(3, "write", "c", history.Int(1)).
		inv(4, "read", "c", null).fail(4, "read", "c", null, "timed-out").
		add(history.NemesisProcess, history.Invoke, "kill", "", null, "")
	res := check(t, h)
	require.Equal(t, Invalid, res.Verdict)
	require.Len(t, res.Keys, 3)
	require.Equal(t, "a", res.Keys[0].Key)
	require.Equal(t, Invalid, res.Keys[0].Verdict)
	require.Equal(t, 2, res.Keys[0].Ops)
	require.Equal(t, "b", res.Keys[1].Key)
	require.Equal(t, Valid, res.Keys[1].Verdict)
	// c's one write is unknown and nobody read its value: it is pruned, which cannot change c's verdict.
	require.Equal(t, 0, res.Keys[2].Ops)
	require.Equal(t, 1, res.Keys[2].Pruned)
	require.Equal(t, Stats{Events: 13, Ops: 5, Unknown: 1, Dropped: 1, Nemesis: 1, Pruned: 1}, res.Stats)
	require.Equal(t, []KeyResult{res.Keys[0]}, res.Failed())
	require.Positive(t, res.Duration)

	b, err := json.Marshal(res)
	require.NoError(t, err)
	var back map[string]any
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, "invalid", back["verdict"])
	require.Len(t, back["keys"], 3)
	require.Equal(t, "a", back["keys"].([]any)[0].(map[string]any)["key"])
	require.Equal(t, 1, Invalid.ExitCode())
	require.Equal(t, 0, Valid.ExitCode())
	require.Equal(t, 2, Unknown.ExitCode())
}

func TestMalformed(t *testing.T) {
	i := history.Int
	for _, c := range []struct {
		name string
		h    *hist
		want string
	}{
		{"completion without invoke", new(hist).write(0, "a", 1).ok(1, "read", "a", i(1)),
			"event 2: ok completion on process 1, which has no open invocation"},
		{"two invokes open", new(hist).inv(0, "write", "a", i(1)).inv(0, "read", "a", null),
			"event 1: process 0 invokes while its invocation at event 0 is still open"},
		{"reused after info", new(hist).inv(0, "write", "a", i(1)).info(0, "write", "a", i(1)).read(0, "a", null),
			"event 2: process 0 invokes again after its info at event 1"},
		{"completion after info", new(hist).inv(0, "write", "a", i(1)).info(0, "write", "a", i(1)).ok(0, "write", "a", i(1)),
			"event 2: ok completion on process 0, retired by its info at event 1"},
		{"unknown f", new(hist).inv(0, "append", "a", i(1)),
			`event 0: unknown function "append"`},
		{"write value not an integer", new(hist).inv(0, "write", "a", json.RawMessage(`"x"`)),
			`event 0: write invocation has value "x"; want an integer`},
		{"write value null", new(hist).inv(0, "write", "a", null),
			`event 0: write invocation has value null`},
		{"cas value not a pair", new(hist).inv(0, "cas", "a", json.RawMessage(`[1]`)),
			"event 0: cas invocation: value [1] is not a pair"},
		{"read invoked with a value", new(hist).inv(0, "read", "a", i(3)),
			"event 0: read invocation has value 3; want null"},
		{"ok read value not an integer", new(hist).inv(0, "read", "a", null).ok(0, "read", "a", json.RawMessage(`[1,2]`)),
			"event 1: ok read: value [1,2] is not an integer or null"},
		{"mismatch value bad", new(hist).inv(0, "cas", "a", history.Pair(1, 2)).fail(0, "cas", "a", json.RawMessage(`"x"`), history.ErrCASMismatch),
			"event 1: cas-mismatch fail: value \"x\" is neither"},
		{"completion of another f", new(hist).inv(0, "write", "a", i(1)).ok(0, "read", "a", i(1)),
			`event 1: completion of "read" on process 0, whose invocation at event 0 is "write"`},
		{"completion on another key", new(hist).inv(0, "write", "a", i(1)).ok(0, "write", "b", i(1)),
			`event 1: completion on key "b", whose invocation at event 0 is on key "a"`},
		{"no key", new(hist).inv(0, "write", "", i(1)),
			"event 0: write invocation has no key"},
		{"bad type", new(hist).inv(0, "write", "a", i(1)).add(0, "done", "write", "a", i(1), ""),
			`event 1: type "done" is not one of`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Check(c.h.ev, Options{})
			require.ErrorContains(t, err, c.want)
		})
	}

	h := new(hist).inv(0, "write", "a", i(1)).ok(0, "write", "a", i(1))
	h.ev[1].Time = 1
	h.ev[0].Time = 5
	_, err := Check(h.ev, Options{})
	require.ErrorContains(t, err, "event 1: completes at time 1, before its invocation at event 0 (time 5)")

	_, err = Check(nil, Options{Timeout: -1})
	require.ErrorContains(t, err, "--timeout: must not be negative")
}

// hard builds a history whose check is exponential: n writes that all overlap, then a read of a value nobody
// wrote. Porcupine must try every order of the writes before it can call it illegal.
func hard(key string, n int) *hist {
	h := &hist{}
	for p := range n {
		h.inv(history.Process(p), "write", key, history.Int(int64(p)))
	}
	for p := range n {
		h.ok(history.Process(p), "write", key, history.Int(int64(p)))
	}
	return h.read(history.Process(n), key, history.Int(-1))
}

func TestTimeoutIsUnknown(t *testing.T) {
	h := hard("a", 40)
	start := time.Now()
	res, err := Check(h.ev, Options{Timeout: 50 * time.Millisecond})
	require.NoError(t, err)
	require.Less(t, time.Since(start), 5*time.Second, "a timed-out check must return promptly")
	require.Equal(t, Unknown, res.Verdict)
	require.Equal(t, Unknown, res.Keys[0].Verdict)

	// A small version of the same history is decided, as Illegal: the construction is sound.
	res = check(t, hard("a", 6))
	require.Equal(t, Invalid, res.Verdict)

	// An illegal key beats an unknown one. The small key goes first, so it is decided.
	h = hard("a", 40)
	h.write(100, "b", 1).read(100, "b", history.Int(2))
	res, err = Check(h.ev, Options{Timeout: 100 * time.Millisecond, Workers: 1, Visualize: true})
	require.NoError(t, err)
	require.Equal(t, Invalid, res.Verdict)
	require.Equal(t, Unknown, res.Keys[0].Verdict)
	require.Equal(t, Invalid, res.Keys[1].Verdict)
	paths, err := res.WriteVisualizations(t.TempDir())
	require.NoError(t, err)
	require.Len(t, paths, 1, "only the failed key is drawn")
	require.Equal(t, "b.html", filepath.Base(paths[0]))

	// With one worker, the second hard key's turn comes after the deadline: unknown, never started.
	h = hard("a", 40)
	h.ev = append(h.ev, hard("b", 40).ev...)
	for i := range h.ev {
		h.ev[i].Index = int64(i)
		if h.ev[i].Key == "b" {
			h.ev[i].Process += 1000
		}
	}
	start = time.Now()
	res, err = Check(h.ev, Options{Timeout: 50 * time.Millisecond, Workers: 1})
	require.NoError(t, err)
	require.Less(t, time.Since(start), 5*time.Second)
	require.Equal(t, Unknown, res.Verdict)
	require.Equal(t, []Verdict{Unknown, Unknown}, []Verdict{res.Keys[0].Verdict, res.Keys[1].Verdict})
	require.Zero(t, res.Keys[1].Duration)
}

func TestVisualizations(t *testing.T) {
	i := history.Int
	h := new(hist).write(0, "ok", 1).read(1, "ok", i(1)).write(0, "bad/key", 1).read(1, "bad/key", i(2)).
		write(0, "k2", 1).read(1, "k2", null)
	dir := t.TempDir()

	res, err := Check(h.ev, Options{})
	require.NoError(t, err)
	_, err = res.WriteVisualizations(dir)
	require.ErrorIs(t, err, ErrNoVisualizations)

	res, err = Check(h.ev, Options{Visualize: true})
	require.NoError(t, err)
	require.Equal(t, Invalid, res.Verdict)
	paths, err := res.WriteVisualizations(filepath.Join(dir, "vis"))
	require.NoError(t, err)
	require.Len(t, paths, 2)
	require.Equal(t, filepath.Join(dir, "vis", SafeName("bad/key")+".html"), paths[0])
	require.Equal(t, filepath.Join(dir, "vis", "k2.html"), paths[1])
	for _, p := range paths {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		require.Contains(t, string(b), "<html")
		require.Contains(t, string(b), `read() -\u003e `) // JSON inside the page escapes '>'
		require.Contains(t, string(b), "process 1, events")
	}
	require.Equal(t, "", res.Keys[0].Visualization)
	require.Equal(t, "k2.html", res.Keys[2].Visualization)

	// A valid history has nothing to write.
	res = check(t, new(hist).write(0, "a", 1))
	paths, err = res.WriteVisualizations(dir)
	require.NoError(t, err)
	require.Empty(t, paths)
}

func TestSafeName(t *testing.T) {
	require.Equal(t, "k0", SafeName("k0"))
	require.Equal(t, "a.b_c-D", SafeName("a.b_c-D"))
	for _, k := range []string{"a/b", "a b", "..", ".hidden", "ключ", strings.Repeat("x", 200), ""} {
		s := SafeName(k)
		require.Regexp(t, `^[A-Za-z0-9._-]+$`, s, k)
		require.NotEqual(t, '.', rune(s[0]))
		require.LessOrEqual(t, len(s), 120)
	}
	require.NotEqual(t, SafeName("a/b"), SafeName("a_b"))
	require.NotEqual(t, SafeName("a/b"), SafeName("a b"))
}

func TestCheckFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "history.jsonl")
	rec, err := history.Create(path, time.Now())
	require.NoError(t, err)
	for _, e := range new(hist).write(0, "a", 1).read(1, "a", history.Int(1)).ev {
		_, err := rec.Record(e)
		require.NoError(t, err)
	}
	require.NoError(t, rec.Close())
	res, err := CheckFile(path, Options{})
	require.NoError(t, err)
	require.Equal(t, Valid, res.Verdict)
	require.Equal(t, 2, res.Stats.Ops)

	edn := filepath.Join(dir, "h.edn")
	require.NoError(t, os.WriteFile(edn, []byte(
		"{:type :invoke, :f :write, :value 1, :process 0, :time 0, :index 0}\n"+
			"{:type :ok, :f :write, :value 1, :process 0, :time 1, :index 1}\n"+
			"{:type :invoke, :f :read, :value nil, :process 1, :time 2, :index 2}\n"+
			"{:type :ok, :f :read, :value 2, :process 1, :time 3, :index 3}\n"), 0o644))
	res, err = CheckFile(edn, Options{})
	require.NoError(t, err)
	require.Equal(t, Invalid, res.Verdict)
	require.Equal(t, "r", res.Keys[0].Key)

	bad := filepath.Join(dir, "bad.jsonl")
	require.NoError(t, os.WriteFile(bad, []byte(`{"index":0,"time":0,"process":0,"type":"ok","f":"read","key":"a","value":1}`+"\n"), 0o644))
	_, err = CheckFile(bad, Options{})
	require.ErrorContains(t, err, bad+": event 0: ok completion on process 0, which has no open invocation")

	_, err = CheckFile(filepath.Join(dir, "missing.jsonl"), Options{})
	require.ErrorContains(t, err, "missing.jsonl")
}
