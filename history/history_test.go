package history

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRecordAndRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.jsonl")
	r, err := Create(path, time.Now())
	require.NoError(t, err)
	var hooked []int64
	r.OnRecord(func(e Event) { hooked = append(hooked, e.Index) })

	in := []Event{
		{Process: 0, Type: Invoke, F: "write", Key: "k0", Value: Int(5), Node: "n1"},
		{Process: NemesisProcess, Type: Info, F: "start-partition", Value: json.RawMessage(`{"n1":["n2"]}`)},
		{Process: 0, Type: Ok, F: "write", Key: "k0", Value: Int(5)},
		{Process: 1, Type: Invoke, F: "read", Key: "k0"}, // nil value is written as null
		{Process: 1, Type: Info, F: "read", Key: "k0", Error: "timed out"},
	}
	var out []Event
	for _, e := range in {
		w, err := r.Record(e)
		require.NoError(t, err)
		out = append(out, w)
	}
	require.NoError(t, r.Sync())
	require.NoError(t, r.Close())
	require.NoError(t, r.Close(), "Close is idempotent")

	for i, e := range out {
		require.Equal(t, int64(i), e.Index)
		if i > 0 {
			require.GreaterOrEqual(t, e.Time, out[i-1].Time)
		}
	}
	require.Equal(t, Null(), out[3].Value)
	require.Equal(t, []int64{0, 1, 2, 3, 4}, hooked)

	back, err := ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, out, back)

	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	require.Len(t, lines, 5)
	require.Contains(t, lines[1], `"process":"nemesis"`)
	require.NotContains(t, lines[1], `"key"`, "empty key is omitted")

	_, err = r.Record(Event{Process: 0, Type: Invoke, F: "read"})
	require.ErrorContains(t, err, "record after close")

	_, err = Create(path, time.Now())
	require.Error(t, err, "Create must not overwrite a history")
}

func TestRecordConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.jsonl")
	r, err := Create(path, time.Now())
	require.NoError(t, err)
	const workers, each = 8, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				_, err := r.Record(Event{Process: Process(w), Type: Invoke, F: "write", Key: "k", Value: Int(int64(i))})
				if err != nil {
					panic(err)
				}
			}
		}()
	}
	wg.Wait()
	require.NoError(t, r.Close())
	events, err := ReadFile(path)
	require.NoError(t, err)
	require.Len(t, events, workers*each)
	next := map[Process]int64{}
	for i, e := range events {
		require.Equal(t, int64(i), e.Index, "file order is index order")
		if i > 0 {
			require.GreaterOrEqual(t, e.Time, events[i-1].Time, "times follow index order")
		}
		require.Equal(t, Int(next[e.Process]), e.Value, "each worker's events keep their order")
		next[e.Process]++
	}
}

func TestRecordRejectsBadProcess(t *testing.T) {
	r, err := Create(filepath.Join(t.TempDir(), "h.jsonl"), time.Now())
	require.NoError(t, err)
	defer r.Close()
	_, err = r.Record(Event{Process: -5, Type: Invoke, F: "read"})
	require.ErrorContains(t, err, "invalid process -5")
	w, err := r.Record(Event{Process: 1, Type: Invoke, F: "read"})
	require.NoError(t, err)
	require.Equal(t, int64(0), w.Index, "a rejected event takes no index")
}

func TestReadErrors(t *testing.T) {
	good := `{"index":0,"time":0,"process":0,"type":"invoke","f":"read","key":"k","value":null}`
	for _, c := range []struct {
		name, in, want string
	}{
		{"unknown field", `{"index":0,"time":0,"process":0,"type":"ok","f":"read","colour":1}` + "\n", `h:1: not a history event: json: unknown field "colour"`},
		{"bad type", `{"index":0,"time":0,"process":0,"type":"done","f":"read"}` + "\n", `h:1: field "type": "done" is not one of`},
		{"missing f", `{"index":0,"time":0,"process":0,"type":"ok"}` + "\n", `h:1: field "f" is missing`},
		{"negative time", `{"index":0,"time":-1,"process":0,"type":"ok","f":"read"}` + "\n", `h:1: field "time": -1 is negative`},
		{"wrong field type", `{"index":"zero","time":0,"process":0,"type":"ok","f":"read"}` + "\n", `h:1: field "index"`},
		{"bad process", `{"index":0,"time":0,"process":-2,"type":"ok","f":"read"}` + "\n", `h:1: not a history event: process must be a non-negative integer or "nemesis", got -2`},
		{"trailing object", good + ` {}` + "\n", "h:1: trailing data after the event"},
		{"stray brace", good + `}` + "\n", "h:1: trailing data after the event"},
		{"not json", "hello\n", "h:1: not a history event"},
		{"error on a later line", good + "\n\n" + `{"index":1}` + "\n", `h:3: field "type"`},
		{"torn final line", good + "\n" + `{"index":1,"time":5,"proc`, "h:2: torn final line (no newline: a partial write)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(c.in), "h")
			require.ErrorContains(t, err, c.want)
		})
	}
}

// TestReadTornTail: a final line cut off mid-write is reported with ErrTornTail, and every event before it is
// returned; a broken line that is not the last (or that ends in a newline) is not a torn tail.
func TestReadTornTail(t *testing.T) {
	good := `{"index":0,"time":0,"process":0,"type":"invoke","f":"read","key":"k","value":null}`
	events, err := Read(strings.NewReader(good+"\n"+good+"\n"+`{"index":2,"time":5,"proc`), "h")
	require.ErrorIs(t, err, ErrTornTail)
	require.Len(t, events, 2)
	_, err = Read(strings.NewReader(good+"\n"+`{"index":1,"time":5,"proc`+"\n"), "h")
	require.Error(t, err)
	require.NotErrorIs(t, err, ErrTornTail)
}

func TestReadLenient(t *testing.T) {
	good := `{"index":0,"time":0,"process":0,"type":"invoke","f":"read","key":"k","value":null}`
	// Blank lines are skipped, CRLF is fine, and a whole final line without a newline is accepted.
	events, err := Read(strings.NewReader("\n"+good+"\r\n\n"+strings.Replace(good, `"index":0`, `"index":1`, 1)), "h")
	require.NoError(t, err)
	require.Len(t, events, 2)
	require.Equal(t, int64(1), events[1].Index)

	// Scan stops at the callback's first error.
	stop := fmt.Errorf("stop")
	n := 0
	err = Scan(strings.NewReader(good+"\n"+good+"\n"), "h", func(Event) error { n++; return stop })
	require.ErrorIs(t, err, stop)
	require.Equal(t, 1, n)

	_, err = ReadFile(filepath.Join(t.TempDir(), "missing.jsonl"))
	require.ErrorContains(t, err, "missing.jsonl")
}

func TestValues(t *testing.T) {
	require.Equal(t, json.RawMessage("-3"), Int(-3))
	require.Equal(t, json.RawMessage("[1,-2]"), Pair(1, -2))
	require.Equal(t, json.RawMessage("null"), OptInt(nil))
	v := int64(9)
	require.Equal(t, json.RawMessage("9"), OptInt(&v))
	require.True(t, IsNull(nil))
	require.True(t, IsNull(Null()))
	require.False(t, IsNull(Int(0)))

	got, err := AsOptInt(Int(42))
	require.NoError(t, err)
	require.Equal(t, int64(42), *got)
	got, err = AsOptInt(Null())
	require.NoError(t, err)
	require.Nil(t, got)
	_, err = AsOptInt(json.RawMessage(`"x"`))
	require.ErrorContains(t, err, `value "x" is not an integer or null`)

	from, to, err := AsPair(Pair(3, 4))
	require.NoError(t, err)
	require.Equal(t, [2]int64{3, 4}, [2]int64{from, to})
	for _, bad := range []string{`[1]`, `[1,2,3]`, `null`, `"x"`, `[1.5,2]`} {
		_, _, err = AsPair(json.RawMessage(bad))
		require.ErrorContains(t, err, "is not a pair", bad)
	}
}

func TestProcessJSON(t *testing.T) {
	for _, p := range []Process{0, 7, NemesisProcess} {
		b, err := json.Marshal(p)
		require.NoError(t, err)
		var back Process
		require.NoError(t, json.Unmarshal(b, &back))
		require.Equal(t, p, back)
	}
	require.Equal(t, "nemesis", NemesisProcess.String())
	require.Equal(t, "12", Process(12).String())
	var p Process
	require.Error(t, json.Unmarshal([]byte(`"worker"`), &p))
	require.Error(t, json.Unmarshal([]byte(`1.5`), &p))
	require.True(t, Ok.Valid())
	require.False(t, Type("begin").Valid())
	require.True(t, bytes.Equal(Null(), []byte("null")))
}
