package runtimetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/harness/cluster"
	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/nemesis"
	"github.com/skeptic-dev/skeptic/targets"
	"github.com/skeptic-dev/skeptic/targets/httpkv"
)

// fixture is one running cluster of the suite, with the nemesis's view of it and the events it recorded.
type fixture struct {
	h      Harness
	c      Cluster
	spec   cluster.Spec
	log    *bytes.Buffer
	target targets.Target
	ids    []string
	urls   map[string]string

	mu     sync.Mutex
	events []history.Event
}

// start starts a 3-node cluster of target running bin, torn down when the test ends (the suite's own teardown
// check runs earlier; a second Teardown must be harmless).
func start(t *testing.T, h Harness, name string, target targets.Target, bin string) *fixture {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	var log bytes.Buffer
	spec := cluster.Spec{RunID: "conform" + name + hex.EncodeToString(b), Target: target, Nodes: 3, Binary: bin,
		RunDir: t.TempDir(), Log: &log}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	t0 := time.Now()
	c, err := h.Start(ctx, spec)
	require.NoError(t, err, "%s: start a 3-node %s cluster; runtime log:\n%s", h.Name(), name, &log)
	t.Logf("%s: 3-node %s cluster up in %s", h.Name(), name, time.Since(t0).Round(time.Millisecond))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		assert.NoError(t, c.Teardown(ctx), "teardown")
	})
	f := &fixture{h: h, c: c, spec: spec, log: &log, target: target, urls: map[string]string{}}
	for _, n := range c.Nodes() {
		f.ids = append(f.ids, n.ID)
		f.urls[n.ID] = n.ClientURL
	}
	require.Equal(t, []string{"n1", "n2", "n3"}, f.ids, "the nodes of a 3-node cluster")
	return f
}

// env is the nemesis's view of the cluster: the runtime's Net and Proc, the Paxos node's admin endpoints for the
// clock and the leader (as the harness implements them), and a recorder that keeps the events.
func (f *fixture) env() nemesis.Env {
	return nemesis.Env{
		Net: f.c.Net(), Proc: f.c.Proc(), Clock: AdminClock(f.urls), Cluster: AdminCluster(f.ids, f.urls),
		Record: func(e history.Event) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.events = append(f.events, e)
			return nil
		},
	}
}

// AdminClock is the nemesis's Clock through POST /admin/clock of the nodes at urls (id -> base URL), as the
// harness implements it for a target with the clock capability.
func AdminClock(urls map[string]string) nemesis.Clock { return adminClock{urls} }

// AdminCluster is the nemesis's Cluster through GET /admin/status: the nodes ids, and the leader a majority names.
func AdminCluster(ids []string, urls map[string]string) nemesis.Cluster {
	return adminCluster{ids, urls}
}

// adminClock is nemesis.Clock through POST /admin/clock.
type adminClock struct{ urls map[string]string }

func (a adminClock) SetClock(ctx context.Context, node string, off time.Duration, rate float64) error {
	return httpkv.SetClock(ctx, a.urls[node], off, rate)
}

// adminCluster is nemesis.Cluster through GET /admin/status: the leader a majority names.
type adminCluster struct {
	ids  []string
	urls map[string]string
}

func (a adminCluster) Nodes() []string { return a.ids }

func (a adminCluster) Leader(ctx context.Context) (string, error) {
	votes := map[string]int{}
	for _, id := range a.ids {
		if st, err := httpkv.Status(ctx, a.urls[id]); err == nil && st.Leader != "" {
			votes[st.Leader]++
		}
	}
	for l, v := range votes {
		if v > len(a.ids)/2 {
			return l, nil
		}
	}
	return "", fmt.Errorf("no majority names a leader: %v", votes)
}

// generate returns the two ops nemesis.Generate makes for one fault of the kind and strategy flags enable: the op
// that starts it and the one that undoes it (F "" when none does), both to run at once.
func (f *fixture) generate(t *testing.T, seed int64, flags nemesis.Flags) (startOp, stopOp nemesis.Op) {
	t.Helper()
	flags.Interval = time.Second
	o, err := nemesis.ParseOptions(flags)
	require.NoError(t, err)
	s, err := nemesis.Generate(seed, f.ids, 2*time.Second, o)
	require.NoError(t, err)
	require.NotEmpty(t, s, "nemesis.Generate(%+v) made no op", flags)
	startOp = s[0]
	startOp.At = 0
	if len(s) > 1 {
		stopOp = s[1]
		stopOp.At = 0
	}
	require.LessOrEqual(t, len(s), 2, "one fault, one undo: %v", s)
	return startOp, stopOp
}

// apply runs op through n (as a one-op schedule) and requires it to succeed: no error from Run and none in the
// two events it records. It returns the recorded result value.
func (f *fixture) apply(t *testing.T, n *nemesis.Nemesis, op nemesis.Op) json.RawMessage {
	t.Helper()
	got, err := f.try(t, n, op)
	require.NoError(t, err, "%s %s", op.F, op.Value)
	require.Empty(t, got.Error, "the nemesis recorded an error for %s %s", op.F, op.Value)
	return got.Value
}

// try runs op through n and returns the event that says what was done, and Run's error.
func (f *fixture) try(t *testing.T, n *nemesis.Nemesis, op nemesis.Op) (history.Event, error) {
	t.Helper()
	require.NoError(t, nemesis.Schedule{op}.Validate(f.ids))
	f.mu.Lock()
	before := len(f.events)
	f.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := n.Run(ctx, nemesis.Schedule{op})
	f.mu.Lock()
	got := append([]history.Event(nil), f.events[before:]...)
	f.mu.Unlock()
	require.Len(t, got, 2, "%s: an op is recorded as two events", op.F)
	require.Equal(t, op.F, got[1].F)
	return got[1], err
}

// healAll calls HealAll twice (it must be idempotent) and requires both calls, and their events, to succeed.
func (f *fixture) healAll(t *testing.T, n *nemesis.Nemesis) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f.mu.Lock()
	before := len(f.events)
	f.mu.Unlock()
	require.NoError(t, n.HealAll(ctx), "HealAll")
	require.NoError(t, n.HealAll(ctx), "a second HealAll")
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range f.events[before:] {
		assert.Empty(t, e.Error, "HealAll recorded an error: %+v", e)
	}
}

// rescue brings the cluster back after a failed subtest, which may leave any fault behind: it heals the network,
// resumes and starts every node and resets their clocks, and waits until each answers.
func (f *fixture) rescue(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = f.c.Net().Heal(ctx)
	for _, id := range f.ids {
		_ = f.c.Proc().Resume(ctx, id)
		_ = f.c.Proc().Start(ctx, id)
	}
	for _, id := range f.ids {
		if err := f.c.WaitReady(ctx, id); err != nil {
			t.Logf("rescue: %v", err)
		}
		_ = httpkv.SetClock(ctx, f.urls[id], 0, 1) // fails harmlessly on testnode
	}
}

// subtests runs each case in order on f, rescuing the cluster after a case that failed.
func (f *fixture) subtests(t *testing.T, cases []subtest) {
	for _, tc := range cases {
		if !t.Run(tc.name, func(t *testing.T) { tc.fn(t, f) }) {
			f.rescue(t)
		}
	}
}

type subtest struct {
	name string
	fn   func(*testing.T, *fixture)
}

// state returns node id's state, failing t if it cannot be told.
func (f *fixture) state(t *testing.T, id string) State {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := f.c.State(ctx, id)
	require.NoError(t, err, "state of %s", id)
	return s
}

// requireStates requires every node to be in the state want names, Running for those it does not name.
func (f *fixture) requireStates(t *testing.T, want map[string]State, what string) {
	t.Helper()
	for _, id := range f.ids {
		w, ok := want[id]
		if !ok {
			w = Running
		}
		assert.Equal(t, w, f.state(t, id), "%s: node %s", what, id)
	}
}

// waitReady waits until every node accepts connections.
func (f *fixture) waitReady(t *testing.T, ids ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, id := range ids {
		require.NoError(t, f.c.WaitReady(ctx, id))
	}
}

func others(ids []string, not ...string) []string {
	var out []string
	for _, id := range ids {
		skip := false
		for _, n := range not {
			skip = skip || id == n
		}
		if !skip {
			out = append(out, id)
		}
	}
	return out
}

func decode[V any](t *testing.T, raw json.RawMessage) V {
	t.Helper()
	var v V
	require.NoError(t, json.Unmarshal(raw, &v), "decode %s", raw)
	return v
}
