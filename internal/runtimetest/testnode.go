package runtimetest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/internal/testbin"
	"github.com/skeptic-dev/skeptic/nemesis"
)

// burst is the number of probes of a direction check. A path that must carry them has up to openWait for all to
// arrive (the probe returns as soon as they have: the machine may be busy); a cut path is watched for cutWait.
const (
	burst    = 20
	openWait = 3 * time.Second
	cutWait  = time.Second
)

// testNodeSuite checks the runtime's basics and its network faults on a cluster of testnode.
func testNodeSuite(t *testing.T, h Harness) {
	f := start(t, h, "testnode", testNodeTarget{}, testbin.TestNode(t))
	cases := []subtest{
		{"nodes", checkNodes},
		{"start failure", checkStartFailure},
		{"kill keeps data", checkKill},
		{"pause freezes", checkPause},
		{"kill a paused node", checkKillPaused},
	}
	for _, s := range []string{nemesis.PartOne, nemesis.PartMajority, nemesis.PartMajoritiesRing, nemesis.PartBridge, nemesis.PartLeader, nemesis.PartOneWay} {
		cases = append(cases, subtest{"partition " + s, func(t *testing.T, f *fixture) { checkPartition(t, f, s) }})
	}
	cases = append(cases,
		subtest{"partition survives a restart", checkPartitionRestart},
		subtest{"loss", checkLoss},
		subtest{"delay", checkDelay},
		subtest{"teardown", checkTeardown})
	f.subtests(t, cases)
}

// checkNodes: the nodes are n1..n3, each at its own URL, serving as itself with its environment, and each
// reaches the others at the peer addresses the target was given.
func checkNodes(t *testing.T, f *fixture) {
	seen := map[string]bool{}
	for _, n := range f.c.Nodes() {
		assert.False(t, seen[n.ClientURL], "two nodes at %s", n.ClientURL)
		seen[n.ClientURL] = true
		body, err := testbin.Get(n.ClientURL + "/")
		require.NoError(t, err, "%s at %s", n.ID, n.ClientURL)
		assert.Equal(t, "ok "+n.ID+" ", body)
		env, err := testbin.Get(n.ClientURL + "/env?k=TESTNODE_ID")
		require.NoError(t, err)
		assert.Equal(t, n.ID, env, "the target's environment reaches the node")
		assert.Equal(t, Running, f.state(t, n.ID))
	}
	for _, pair := range [][2]string{{"n1", "n3"}, {"n3", "n2"}} {
		assert.NoError(t, dial(f, pair[0], pair[1]), "%s dials its peer %s", pair[0], pair[1])
	}
}

// checkStartFailure starts a cluster whose nodes exit at once (testnode refuses an unknown flag): Start fails
// with an error that names a node that failed and holds its output, and leaves nothing behind.
func checkStartFailure(t *testing.T, f *fixture) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	spec := f.spec
	spec.RunID = f.spec.RunID + "-bad"
	spec.RunDir = t.TempDir()
	spec.Target = testNodeTarget{extra: []string{"-no-such-flag"}}
	spec.Nodes = 2
	c, err := f.h.Start(ctx, spec)
	if err == nil {
		_ = c.Teardown(ctx)
	}
	require.Error(t, err, "Start of nodes that exit at once")
	// Nodes may start side by side (docker does), so whichever failed first is named.
	assert.Regexp(t, `node n[12]\b`, err.Error(), "the error names the node")
	assert.Contains(t, err.Error(), "no-such-flag", "the error holds the node's output")
	left, lerr := f.h.Leftovers(ctx, spec)
	require.NoError(t, lerr)
	assert.Empty(t, left, "after a failed Start")
}

// dial makes node from dial node to at the peer address it was given, and checks the answer.
func dial(f *fixture, from, to string) error {
	body, err := testbin.Get(f.urls[from] + "/dial?to=" + to)
	if err == nil && body != fmt.Sprintf("pong %s to %s\n", to, from) {
		err = fmt.Errorf("unexpected answer %q", body)
	}
	return err
}

// checkKill: Kill stops the process and the node stops answering; killing it again is harmless; Start runs it
// again with the data it had.
func checkKill(t *testing.T, f *fixture) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := f.c.Proc()
	require.NoError(t, testbin.Put(f.urls["n1"], "survivor"))
	require.NoError(t, p.Kill(ctx, "n1"))
	f.requireStates(t, map[string]State{"n1": Stopped}, "after Kill(n1)")
	_, err := testbin.Get(f.urls["n1"] + "/")
	require.Error(t, err, "n1 answered after Kill")
	require.NoError(t, p.Kill(ctx, "n1"), "killing a killed node")
	require.NoError(t, p.Start(ctx, "n1"))
	require.NoError(t, f.c.WaitReady(ctx, "n1"))
	body, err := testbin.Get(f.urls["n1"] + "/")
	require.NoError(t, err)
	assert.Equal(t, "ok n1 survivor", body, "the restarted n1 has its data back")
	require.NoError(t, p.Start(ctx, "n1"), "starting a running node")
	f.requireStates(t, nil, "after Start(n1)")
}

// checkPause: Pause freezes the process (it exists and does not answer); pausing again is harmless; Resume
// thaws it.
func checkPause(t *testing.T, f *fixture) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := f.c.Proc()
	require.NoError(t, p.Pause(ctx, "n2"))
	require.NoError(t, p.Pause(ctx, "n2"), "pausing a paused node")
	f.requireStates(t, map[string]State{"n2": Paused}, "after Pause(n2)")
	requireSilent(t, f.urls["n2"]+"/", "paused n2")
	require.NoError(t, p.Resume(ctx, "n2"))
	require.NoError(t, p.Resume(ctx, "n2"), "resuming a running node")
	body, err := testbin.Get(f.urls["n2"] + "/")
	require.NoError(t, err, "n2 after Resume")
	assert.Equal(t, "ok n2 ", body)
	f.requireStates(t, nil, "after Resume(n2)")
}

// requireSilent requires url to give no answer within half a second.
func requireSilent(t *testing.T, url, what string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 500 * time.Millisecond}).Get(url)
	if err == nil {
		resp.Body.Close()
	}
	require.Error(t, err, "%s answered", what)
}

// checkKillPaused: Kill of a paused node kills it; a killed node cannot be paused; an unknown node is named.
func checkKillPaused(t *testing.T, f *fixture) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := f.c.Proc()
	require.NoError(t, p.Pause(ctx, "n3"))
	require.NoError(t, p.Kill(ctx, "n3"), "killing a paused node")
	f.requireStates(t, map[string]State{"n3": Stopped}, "after Kill of the paused n3")
	assert.Error(t, p.Pause(ctx, "n3"), "pausing a killed node")
	for name, fn := range map[string]func(context.Context, string) error{"Kill": p.Kill, "Start": p.Start, "Pause": p.Pause, "Resume": p.Resume} {
		err := fn(ctx, "n9")
		if assert.Error(t, err, "%s(n9)", name) {
			assert.Contains(t, err.Error(), `unknown node "n9"`, "%s(n9)", name)
		}
	}
	require.NoError(t, p.Start(ctx, "n3"))
	require.NoError(t, f.c.WaitReady(ctx, "n3"))
	f.requireStates(t, nil, "after Start(n3)")
}

// probeAll probes every directed path between the nodes at once, waiting up to wait(path) for the probes.
func (f *fixture) probeAll(t *testing.T, n int, wait func(nemesis.Link) time.Duration) map[nemesis.Link]Probe {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		out  = map[nemesis.Link]Probe{}
		errs []error
	)
	for _, a := range f.ids {
		for _, b := range others(f.ids, a) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p, err := f.c.Probe(ctx, a, b, n, wait(nemesis.Link{From: a, To: b}))
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, fmt.Errorf("probe %s->%s: %w", a, b, err))
				}
				out[nemesis.Link{From: a, To: b}] = p
			}()
		}
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	return out
}

func always(d time.Duration) func(nemesis.Link) time.Duration {
	return func(nemesis.Link) time.Duration { return d }
}

// requireGrudge probes every directed path and requires exactly those that g cuts (b in g[a] cuts b->a) to
// carry nothing, and the others to carry every probe.
func (f *fixture) requireGrudge(t *testing.T, g nemesis.Grudge, what string) {
	t.Helper()
	cut := func(l nemesis.Link) bool { return slices.Contains(g[l.To], l.From) }
	res := f.probeAll(t, burst, func(l nemesis.Link) time.Duration {
		if cut(l) {
			return cutWait
		}
		return openWait
	})
	for _, a := range f.ids {
		for _, b := range others(f.ids, a) {
			p := res[nemesis.Link{From: a, To: b}]
			if cut(nemesis.Link{From: a, To: b}) {
				assert.Zero(t, p.Arrived, "%s: %s drops %s's packets (grudge %v), but %d/%d probes %s->%s arrived", what, b, a, g, p.Arrived, p.Sent, a, b)
			} else {
				assert.Equal(t, p.Sent, p.Arrived, "%s: %s->%s is not cut (grudge %v), but only %d/%d probes arrived", what, a, b, g, p.Arrived, p.Sent)
			}
		}
	}
}

// checkPartition applies strategy's partition as the nemesis generates and runs it: the probes show exactly the
// grudge's cuts; its stop op and HealAll each leave every path open. testnode elects no leader: for the leader
// strategy the cluster names n2 (the Paxos part of the suite cuts off a real leader).
func checkPartition(t *testing.T, f *fixture, strategy string) {
	startOp, stopOp := f.generate(t, 7, nemesis.Flags{Nemesis: nemesis.FaultPartition, Partition: strategy})
	require.Equal(t, nemesis.FStopPartition, stopOp.F)
	env := f.env()
	if strategy == nemesis.PartLeader {
		env.Cluster = standIn{f.ids, "n2"}
	}
	n := nemesis.New(env)
	v := decode[nemesis.PartitionValue](t, f.apply(t, n, startOp))
	require.NotEmpty(t, v.Grudge, "%s: the partition cuts nothing", strategy)
	if strategy == nemesis.PartLeader {
		require.Equal(t, "n2", v.Leader)
		require.Equal(t, nemesis.Isolate(f.ids, "n2"), v.Grudge, "the leader strategy cuts the leader off")
	}
	t.Logf("%s: grudge %v", strategy, v.Grudge)
	f.requireGrudge(t, v.Grudge, strategy)
	f.apply(t, n, stopOp)
	f.requireGrudge(t, nil, "after stop-partition")
	// Apply it again and let HealAll undo it.
	n = nemesis.New(env)
	f.apply(t, n, startOp)
	f.healAll(t, n)
	f.requireGrudge(t, nil, "after HealAll")
}

// standIn is a cluster whose nodes name leader as their leader.
type standIn struct {
	ids    []string
	leader string
}

func (s standIn) Nodes() []string                        { return s.ids }
func (s standIn) Leader(context.Context) (string, error) { return s.leader, nil }

// checkPartitionRestart isolates n3, whose peers' own connections then fail, kills and starts it (a new process,
// on docker a new network namespace), and requires the partition to hold for the new process until the heal.
func checkPartitionRestart(t *testing.T, f *fixture) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	g := nemesis.Isolate(f.ids, "n3")
	n := nemesis.New(f.env())
	f.apply(t, n, nemesis.Op{F: nemesis.FStartPartition, Value: mustJSON(t, nemesis.PartitionValue{Grudge: g})})
	assert.Error(t, dial(f, "n1", "n3"), "n1 reached the isolated n3 at its peer address")
	assert.NoError(t, dial(f, "n1", "n2"), "n1 -> n2 across a partition that does not cut them")
	f.apply(t, n, nemesis.Op{F: nemesis.FKill, Value: mustJSON(t, nemesis.NodesValue{Nodes: []string{"n3"}})})
	f.apply(t, n, nemesis.Op{F: nemesis.FStart, Value: mustJSON(t, nemesis.NodesValue{Nodes: []string{"n3"}})})
	require.NoError(t, f.c.WaitReady(ctx, "n3"))
	f.requireGrudge(t, g, "isolated n3 after its restart")
	f.healAll(t, n)
	f.requireGrudge(t, nil, "after HealAll")
	assert.NoError(t, dial(f, "n1", "n3"), "n1 -> n3 after HealAll")
}

// checkLoss applies the loss the nemesis generates (--loss 50: every path drops each packet with probability
// 0.5): each path loses between 25% and 75% of 200 probes; stop-loss and HealAll each end it.
func checkLoss(t *testing.T, f *fixture) {
	const probes = 200
	startOp, stopOp := f.generate(t, 7, nemesis.Flags{Nemesis: nemesis.FaultLoss, Loss: 50})
	n := nemesis.New(f.env())
	v := decode[nemesis.LinksValue](t, f.apply(t, n, startOp))
	require.Len(t, v.Links, 6, "the loss is on every path")
	for l, p := range f.probeAll(t, probes, always(time.Second)) {
		lost := 100 * float64(p.Sent-p.Arrived) / float64(p.Sent)
		t.Logf("loss 50%% on %s->%s: %d/%d arrived", l.From, l.To, p.Arrived, p.Sent)
		assert.True(t, lost >= 25 && lost <= 75, "loss 50%% on %s->%s: %.1f%% of %d probes lost, want 25..75%%", l.From, l.To, lost, p.Sent)
	}
	f.apply(t, n, stopOp)
	f.requireGrudge(t, nil, "after stop-loss")
	n = nemesis.New(f.env())
	f.apply(t, n, nemesis.Op{F: nemesis.FStartLoss, Value: mustJSON(t, nemesis.LinksValue{Links: []nemesis.Link{{From: "n1", To: "n2"}}, Percent: 100})})
	f.requireGrudge(t, nemesis.Grudge{"n2": {"n1"}}, "loss 100% on n1->n2 only")
	f.healAll(t, n)
	f.requireGrudge(t, nil, "after HealAll")
}

// checkDelay applies the delay the nemesis generates (--delay 300ms --jitter 20ms on every path): every probe
// takes at least 300ms to arrive, and after stop-delay and after HealAll they arrive sooner. A runtime that
// cannot delay must refuse it with nemesis.ErrUnsupported, and the refusal must leave the network as it was.
func checkDelay(t *testing.T, f *fixture) {
	const d = 300 * time.Millisecond
	startOp, stopOp := f.generate(t, 7, nemesis.Flags{Nemesis: nemesis.FaultDelay, Delay: d, Jitter: 20 * time.Millisecond})
	n := nemesis.New(f.env())
	if why := f.h.CanDelay(); why != nil {
		require.ErrorIs(t, why, nemesis.ErrUnsupported, "CanDelay's refusal")
		got, err := f.try(t, n, startOp)
		require.ErrorIs(t, err, nemesis.ErrUnsupported, "%s said it cannot delay (%v), but Delay", f.h.Name(), why)
		assert.NotEmpty(t, got.Error, "the refused delay is recorded with its error")
		t.Logf("%s refuses delay: %v", f.h.Name(), err)
		f.healAll(t, n)
		f.requireGrudge(t, nil, "after the refused delay")
		return
	}
	f.apply(t, n, startOp)
	for l, p := range f.probeAll(t, 5, always(d+openWait)) {
		assert.Equal(t, p.Sent, p.Arrived, "delay on %s->%s: probes lost", l.From, l.To)
		assert.GreaterOrEqual(t, p.MinLatency, d, "delay %s on %s->%s: a probe arrived after %s", d, l.From, l.To, p.MinLatency)
	}
	f.apply(t, n, stopOp)
	// Undelayed, a probe arrives at once; on a busy machine some may still be late, but not every one.
	fast := func(what string) {
		for l, p := range f.probeAll(t, 10, always(d+openWait)) {
			assert.Equal(t, p.Sent, p.Arrived, "%s: %s->%s lost probes", what, l.From, l.To)
			assert.Less(t, p.MinLatency, d, "%s: every probe on %s->%s took %s or more", what, l.From, l.To, p.MinLatency)
		}
	}
	fast("after stop-delay")
	n = nemesis.New(f.env())
	f.apply(t, n, startOp)
	f.healAll(t, n)
	fast("after HealAll")
}

// checkTeardown tears the cluster down twice, and requires nothing of it to remain and every node's log, across
// its lives, to be saved in the run folder.
func checkTeardown(t *testing.T, f *fixture) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	before, err := f.h.Leftovers(ctx, f.spec)
	require.NoError(t, err)
	for _, id := range f.ids {
		assert.True(t, slices.ContainsFunc(before, func(s string) bool { return strings.Contains(s, id) }),
			"Leftovers of the running cluster names nothing of %s (%v): it cannot show that a teardown works", id, before)
	}
	// Concurrent teardowns run one after the other, and each succeeds; so does a later one.
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f.c.Teardown(ctx)
		}()
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...), "concurrent Teardowns")
	require.NoError(t, f.c.Teardown(ctx), "a second Teardown")
	left, err := f.h.Leftovers(ctx, f.spec)
	require.NoError(t, err)
	assert.Empty(t, left, "after Teardown (before it: %v)", before)
	for id, lives := range map[string]int{"n1": 2, "n2": 1, "n3": 3} {
		b, err := os.ReadFile(filepath.Join(f.spec.RunDir, "nodes", id, "node.log"))
		if assert.NoError(t, err, "%s's log", id) {
			assert.Equal(t, lives, strings.Count(string(b), "testnode "+id+": client"), "%s's log holds a start line per life:\n%s", id, b)
		}
	}
	assert.Error(t, f.c.Proc().Start(ctx, "n1"), "Start after Teardown")
}
