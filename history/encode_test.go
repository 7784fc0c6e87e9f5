package history

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// encodeFast is the Recorder's line for e, when its encoder takes e.
func encodeFast(e Event) ([]byte, bool) {
	tail, ok := appendTail(nil, &e)
	if !ok {
		return nil, false
	}
	return append(appendHead(nil, e.Index, e.Time), tail...), true
}

func marshalLine(t testing.TB, e Event) []byte {
	b, err := json.Marshal(e)
	require.NoError(t, err)
	return append(b, '\n')
}

// TestEncodeSameAsMarshal: the encoder writes what json.Marshal writes, byte for byte, and takes the events
// workers record (so the recorder does not fall back to json.Marshal for them).
func TestEncodeSameAsMarshal(t *testing.T) {
	fast := []Event{
		{Index: 0, Time: 0, Process: 0, Type: Invoke, F: "read", Key: "k1"},
		{Index: 1, Time: 12345, Process: 3, Type: Ok, F: "read", Key: "k1", Value: Int(-7), Node: "n2"},
		{Index: 2, Time: 1 << 60, Process: 12, Type: Invoke, F: "cas", Key: "key 9", Value: Pair(1, -2), Node: "n5"},
		{Index: 3, Time: 9, Process: 12, Type: Fail, F: "cas", Key: "key 9", Value: Null(), Node: "n5", Error: ErrCASMismatch},
		{Index: 4, Time: 9, Process: 1 << 40, Type: Info, F: "write", Key: "k", Value: Int(5), Error: "timeout: no answer in 5s"},
		{Index: 5, Time: 9, Process: NemesisProcess, Type: Info, F: "start-partition", Value: json.RawMessage("null")},
		{Index: 6, Time: 9, Process: 2, Type: Ok, F: "write", Key: "k", Value: json.RawMessage("-0")},
		// Strings that need escaping take the slow way for the string only.
		{Index: 7, Time: 1, Process: 2, Type: Info, F: "write", Key: `a"b\c`, Value: Int(1), Error: "<html> & \x01 é \xff"},
		{Index: 8, Time: 1, Process: 2, Type: "weird\ttype", F: "", Value: Int(1)},
	}
	for _, e := range fast {
		got, ok := encodeFast(e)
		require.True(t, ok, "%+v", e)
		require.Equal(t, string(marshalLine(t, e)), string(got))
	}
	slow := []Event{
		{Process: NemesisProcess, Type: Info, F: "start-partition", Value: json.RawMessage(`{"n1": ["n2", "n3"]}`)},
		{Process: 1, Type: Ok, F: "read", Value: json.RawMessage(` 1`)},
		{Process: 1, Type: Ok, F: "read", Value: json.RawMessage(`[1, 2]`)},
		{Process: 1, Type: Ok, F: "read", Value: json.RawMessage(``)},
		{Process: -5, Type: Ok, F: "read"},
	}
	for _, e := range slow {
		_, ok := encodeFast(e)
		require.False(t, ok, "%+v", e)
	}
}

// FuzzEncodeSameAsMarshal: whatever the encoder takes, it writes as json.Marshal does.
func FuzzEncodeSameAsMarshal(f *testing.F) {
	f.Add(int64(1), int64(2), 3, "ok", "read", "k", []byte("12"), "n1", "")
	f.Add(int64(0), int64(0), -1, "info", "kill", "", []byte(`["n1","n2"]`), "", "x")
	f.Add(int64(5), int64(-1), 7, "fail", "cas", "k<", []byte("[1,-2]"), "n\u00e9", "cas-mismatch")
	f.Fuzz(func(t *testing.T, index, tm int64, p int, typ, fn, key string, value []byte, node, errs string) {
		e := Event{Index: index, Time: tm, Process: Process(p), Type: Type(typ), F: fn, Key: key, Node: node, Error: errs}
		if value != nil {
			e.Value = value
		}
		got, ok := encodeFast(e)
		if !ok {
			return
		}
		want, err := json.Marshal(e)
		require.NoError(t, err, "the encoder took an event json.Marshal refuses")
		require.Equal(t, string(append(want, '\n')), string(got))
	})
}

// TestRecorderLinesAsMarshal: a file recorded by many goroutines has, for each event Record returned, the line
// json.Marshal makes of it, in index order.
func TestRecorderLinesAsMarshal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.jsonl")
	r, err := Create(path, time.Now())
	require.NoError(t, err)
	const workers, each = 8, 500
	got := make([][]Event, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				e := Event{Process: Process(w), Type: Invoke, F: "cas", Key: "k", Value: Pair(int64(i), int64(w)), Node: "n1"}
				if i%50 == 0 {
					e = Event{Process: NemesisProcess, Type: Info, F: "start-kill", Value: json.RawMessage(`{"nodes": ["n1"]}`)}
				}
				out, err := r.Record(e)
				require.NoError(t, err)
				got[w] = append(got[w], out)
			}
		})
	}
	wg.Wait()
	require.NoError(t, r.Close())
	want := make([][]byte, workers*each)
	for _, evs := range got {
		for _, e := range evs {
			want[e.Index] = marshalLine(t, e)
		}
	}
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var all []byte
	for _, l := range want {
		require.NotNil(t, l)
		all = append(all, l...)
	}
	require.Equal(t, string(all), string(b))
}

// BenchmarkRecord: Record from 10 goroutines at once, as the workers call it.
func BenchmarkRecord(b *testing.B) {
	r, err := Create(filepath.Join(b.TempDir(), "history.jsonl"), time.Now())
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	b.SetParallelism(5) // 10 goroutines on 2 cores
	b.RunParallel(func(pb *testing.PB) {
		i := int64(0)
		for pb.Next() {
			i++
			if _, err := r.Record(Event{Process: 3, Type: Ok, F: "cas", Key: "key-17", Value: Pair(i, i+1), Node: "n3"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
