package checker

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/targets"
	"github.com/skeptic-dev/skeptic/targets/httpkv"
	"github.com/skeptic-dev/skeptic/workloads"
)

// kvServer is an in-memory PROTOCOL.md node. With stale set, a read answers the value before the latest write
// (a classic lost-update bug). Every lostEvery-th write or cas is applied, then answered too late for the
// client, so its outcome is unknown.
type kvServer struct {
	mu        sync.Mutex
	cur, prev map[string]*int64
	stale     bool
	lostEvery int
	updates   int
}

func (s *kvServer) handler() http.Handler {
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, status int, v any) {
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	set := func(k string, v int64) (late bool) {
		s.prev[k] = s.cur[k]
		s.cur[k] = &v
		s.updates++
		return s.lostEvery > 0 && s.updates%s.lostEvery == 0
	}
	mux.HandleFunc("GET /kv/{key}", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		v := s.cur[r.PathValue("key")]
		if s.stale {
			if p, ok := s.prev[r.PathValue("key")]; ok {
				v = p
			}
		}
		s.mu.Unlock()
		reply(w, 200, map[string]*int64{"value": v})
	})
	mux.HandleFunc("PUT /kv/{key}", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Value int64 }
		if json.NewDecoder(r.Body).Decode(&body) != nil {
			reply(w, 400, map[string]any{"error": "bad body", "definite": true})
			return
		}
		s.mu.Lock()
		late := set(r.PathValue("key"), body.Value)
		s.mu.Unlock()
		if late {
			<-r.Context().Done()
			return
		}
		reply(w, 200, map[string]any{})
	})
	mux.HandleFunc("POST /kv/{key}/cas", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ From, To int64 }
		if json.NewDecoder(r.Body).Decode(&body) != nil {
			reply(w, 400, map[string]any{"error": "bad body", "definite": true})
			return
		}
		k := r.PathValue("key")
		s.mu.Lock()
		cur := s.cur[k]
		if cur == nil || *cur != body.From {
			s.mu.Unlock()
			reply(w, 409, map[string]any{"error": "cas-mismatch", "value": cur})
			return
		}
		late := set(k, body.To)
		s.mu.Unlock()
		if late {
			<-r.Context().Done()
			return
		}
		reply(w, 200, map[string]any{})
	})
	return mux
}

// drive runs a kv workload through httpkv clients against s, recording history.jsonl as the harness does
// (a worker's process is retired after an info), and returns the file's path.
func drive(t *testing.T, s *kvServer, workers, opsEach int) string {
	t.Helper()
	srv := httptest.NewServer(s.handler())
	defer srv.Close()
	wl, err := workloads.New(workloads.NameKV, workloads.Config{Seed: 7, Workers: workers, OpsPerKey: 60, WorkersPerKey: 3})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "history.jsonl")
	rec, err := history.Create(path, time.Now())
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			gen := wl.Worker(i)
			cl := httpkv.New(srv.URL, httpkv.WithTimeout(100*time.Millisecond))
			defer cl.Close()
			proc := history.Process(i)
			for range opsEach {
				op := gen.Next()
				inv := history.Event{Process: proc, Type: history.Invoke, F: op.F, Key: op.Key, Value: value(op)}
				if _, err := rec.Record(inv); err != nil {
					panic(err)
				}
				out := cl.Do(context.Background(), op)
				gen.Observe(op, out)
				done := history.Event{Process: proc, Type: out.Type, F: op.F, Key: op.Key, Value: value(op), Error: out.Error}
				if op.F == targets.FRead && out.Type == history.Ok || out.Error == history.ErrCASMismatch {
					done.Value = history.OptInt(out.Value)
				}
				if _, err := rec.Record(done); err != nil {
					panic(err)
				}
				if out.Type == history.Info {
					proc += history.Process(workers)
				}
			}
		}()
	}
	wg.Wait()
	require.NoError(t, rec.Close())
	return path
}

func value(op targets.Op) json.RawMessage {
	switch op.F {
	case targets.FWrite:
		return history.Int(op.Value)
	case targets.FCAS:
		return history.Pair(op.From, op.To)
	}
	return history.Null()
}

func TestEndToEnd(t *testing.T) {
	t.Run("correct store with lost responses", func(t *testing.T) {
		s := &kvServer{cur: map[string]*int64{}, prev: map[string]*int64{}, lostEvery: 23}
		res, err := CheckFile(drive(t, s, 6, 80), Options{Timeout: time.Minute})
		require.NoError(t, err)
		require.Equal(t, Valid, res.Verdict, "%+v", res.Keys)
		require.Positive(t, res.Stats.Unknown, "some writes must have lost their responses")
		require.Positive(t, res.Stats.Observations, "some cas must have found another value")
		require.Greater(t, len(res.Keys), 4, "the workload rotates keys")
		t.Logf("%d keys, stats %+v, %v", len(res.Keys), res.Stats, res.Duration)
	})
	t.Run("stale reads", func(t *testing.T) {
		s := &kvServer{cur: map[string]*int64{}, prev: map[string]*int64{}, stale: true}
		res, err := CheckFile(drive(t, s, 6, 80), Options{Timeout: time.Minute, Visualize: true})
		require.NoError(t, err)
		require.Equal(t, Invalid, res.Verdict)
		paths, err := res.WriteVisualizations(t.TempDir())
		require.NoError(t, err)
		require.Len(t, paths, len(res.Failed()))
		t.Logf("%d of %d keys invalid", len(res.Failed()), len(res.Keys))
	})
}
