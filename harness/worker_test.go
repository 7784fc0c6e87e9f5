package harness

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/targets"
	"github.com/skeptic-dev/skeptic/targets/httpkv"
	"github.com/skeptic-dev/skeptic/workloads"
)

// kvServer is a real PROTOCOL.md register store over HTTP whose answers can be held back: while hang is set,
// requests get no answer until the client gives up, which the client must record as info.
type kvServer struct {
	mu   sync.Mutex
	vals map[string]int64
	hang bool
}

func (s *kvServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	hang := s.hang
	s.mu.Unlock()
	if hang {
		// Read the body first: only then does the server notice the client hanging up.
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		return
	}
	key := strings.TrimPrefix(r.URL.Path, "/kv/")
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.Method {
	case http.MethodGet:
		if v, ok := s.vals[key]; ok {
			json.NewEncoder(w).Encode(map[string]any{"value": v})
		} else {
			w.Write([]byte(`{"value":null}`))
		}
	case http.MethodPut:
		var b struct{ Value int64 }
		json.NewDecoder(r.Body).Decode(&b)
		s.vals[key] = b.Value
		w.Write([]byte(`{}`))
	default:
		http.Error(w, `{"error":"unsupported","definite":true}`, http.StatusNotImplemented)
	}
}

func (s *kvServer) setHang(b bool) { s.mu.Lock(); s.hang = b; s.mu.Unlock() }

// TestWorkerRetiresProcessAfterInfo checks Jepsen's process rule: after an info, the worker continues under
// process p + concurrency, and every invocation is closed by a completion of the same process.
func TestWorkerRetiresProcessAfterInfo(t *testing.T) {
	srv := &kvServer{vals: map[string]int64{}}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	path := filepath.Join(t.TempDir(), HistoryFile)
	rec, err := history.Create(path, time.Now())
	require.NoError(t, err)
	node := targets.Node{ID: "n2", ClientURL: hs.URL}
	w := &worker{index: 1, concurrency: 3, node: node, client: httpkv.New(hs.URL), rec: rec,
		opTimeout: 200 * time.Millisecond, process: 1}
	ctx := context.Background()

	mustDo := func(op targets.Op, want history.Type) {
		t.Helper()
		out, err := w.do(ctx, op)
		require.NoError(t, err)
		require.Equal(t, want, out.Type, "%s %s: outcome %+v", op.F, op.Key, out)
	}
	mustDo(targets.Op{F: targets.FWrite, Key: "k1", Value: 5}, history.Ok)
	srv.setHang(true)
	mustDo(targets.Op{F: targets.FWrite, Key: "k1", Value: 6}, history.Info)
	srv.setHang(false)
	mustDo(targets.Op{F: targets.FRead, Key: "k1"}, history.Ok)
	srv.setHang(true)
	mustDo(targets.Op{F: targets.FRead, Key: "k1"}, history.Info)
	srv.setHang(false)
	mustDo(targets.Op{F: targets.FRead, Key: "k2"}, history.Ok)
	require.NoError(t, rec.Close())

	evs, err := history.ReadFile(path)
	require.NoError(t, err)
	want := []struct {
		p    history.Process
		typ  history.Type
		val  string
		errs bool
	}{
		{1, history.Invoke, "5", false}, {1, history.Ok, "5", false},
		{1, history.Invoke, "6", false}, {1, history.Info, "6", true},
		{4, history.Invoke, "null", false}, {4, history.Ok, "5", false},
		{4, history.Invoke, "null", false}, {4, history.Info, "null", true},
		{7, history.Invoke, "null", false}, {7, history.Ok, "null", false},
	}
	require.Len(t, evs, len(want), "events: %+v", evs)
	for i, w := range want {
		e := evs[i]
		assert.Equal(t, w.p, e.Process, "event %d: %+v", i, e)
		assert.Equal(t, w.typ, e.Type, "event %d: %+v", i, e)
		assert.Equal(t, w.val, string(e.Value), "event %d: %+v", i, e)
		assert.Equal(t, w.errs, e.Error != "", "event %d has an error: %+v", i, e)
		assert.Equal(t, "n2", e.Node, "event %d: %+v", i, e)
	}
}

// TestPacerSpacesOperations checks that the shared pacer holds the total rate, and that stop ends a wait.
func TestPacerSpacesOperations(t *testing.T) {
	p := newPacer(200) // one slot every 5ms
	stop := make(chan struct{})
	t0 := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 10; j++ {
				assert.NoError(t, p.wait(context.Background(), stop))
			}
		}()
	}
	wg.Wait()
	assert.GreaterOrEqual(t, time.Since(t0), 190*time.Millisecond, "40 slots at 200/s take about 195ms")
	slow := newPacer(0.1)
	slow.wait(context.Background(), stop) // first slot is now
	close(stop)
	assert.Equal(t, errStopped, slow.wait(context.Background(), stop), "wait after stop")
	assert.Nil(t, newPacer(0), "rate 0 must not pace")
}

func TestOpBudget(t *testing.T) {
	b := newOpBudget(2)
	got := []bool{b.take(), b.take(), b.take()}
	assert.Equal(t, []bool{true, true, false}, got, "a budget of 2 allows exactly the first 2")
	var unbounded *opBudget
	assert.True(t, unbounded.take(), "a nil budget is unbounded")
}

// TestWorkerLoopStopsByItself runs a worker's loop with a real kv workload against a real HTTP store, and
// never closes stop: the loop must end by itself at its deadline, and at its operation budget.
func TestWorkerLoopStopsByItself(t *testing.T) {
	srv := &kvServer{vals: map[string]int64{}}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	wl, err := workloads.New(workloads.NameKV, workloads.Config{Seed: 1, Workers: 1, ReadRatio: 0.5, WriteRatio: 0.5})
	require.NoError(t, err)
	for _, c := range []struct {
		name     string
		deadline time.Duration
		budget   int
		wantOps  int // 0: any number
	}{{"deadline", 300 * time.Millisecond, 0, 0}, {"budget", time.Minute, 7, 7}} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), HistoryFile)
			rec, err := history.Create(path, time.Now())
			require.NoError(t, err)
			w := &worker{index: 0, concurrency: 1, node: targets.Node{ID: "n1", ClientURL: hs.URL},
				client: httpkv.New(hs.URL), gen: genAdapter{wl.Worker(0)}, rec: rec, opTimeout: time.Second,
				pace: newPacer(100), budget: newOpBudget(c.budget), deadline: time.Now().Add(c.deadline)}
			t0 := time.Now()
			require.NoError(t, w.run(context.Background(), make(chan struct{})))
			assert.LessOrEqual(t, time.Since(t0), c.deadline+time.Second, "the loop ends by itself near its deadline of %s", c.deadline)
			rec.Close()
			evs, err := history.ReadFile(path)
			require.NoError(t, err)
			require.NotEmpty(t, evs)
			require.Zero(t, len(evs)%2, "%d events: want whole operations", len(evs))
			if c.wantOps > 0 {
				assert.Equal(t, c.wantOps, len(evs)/2, "operations: the budget's")
			}
		})
	}
}
