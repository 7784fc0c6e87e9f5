package nft_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/nemesis"
	"github.com/skeptic-dev/skeptic/nemesis/nft"
)

const burst = 20

func TestPartitionOneWayDropsOnlyOneDirection(t *testing.T) {
	tp := newTopo(t, "a", "b", "c")
	n := nft.New(tp.hosts())
	c := ctx(t)
	require.Equal(t, burst, tp.udp("a", "b", burst), "before any fault a->b delivered")
	// b drops what a sends; a still hears b.
	require.NoError(t, n.Partition(c, nemesis.Grudge{"b": {"a"}}))
	assert.Zero(t, tp.udp("a", "b", burst), "cut a->b: datagrams arrived")
	assert.Equal(t, burst, tp.udp("b", "a", burst), "b->a is not cut")
	assert.Equal(t, burst, tp.udp("c", "b", burst), "c->b is not cut")
	assert.False(t, tp.tcp("a", "b"), "a opened a TCP connection to b across the cut")
	assert.True(t, tp.tcp("client", "b"), "the harness's client could not reach b: rules must match peers only")
	assert.Contains(t, tp.tables("b"), "table inet skeptic", "b has no skeptic table")
	assert.NotContains(t, tp.tables("a"), "skeptic", "a, whose grudge is empty, has a table")

	require.NoError(t, n.Heal(c))
	assert.Equal(t, burst, tp.udp("a", "b", burst), "after heal a->b")
	assert.True(t, tp.tcp("a", "b"), "after heal a cannot reach b over TCP")
	for _, m := range []string{"a", "b", "c"} {
		assert.NotContains(t, tp.tables(m), "skeptic", "after heal %s still has a table", m)
	}
	assert.NoError(t, n.Heal(c), "second heal")
}

func TestPartitionIsolatesOneNodeAndReplaces(t *testing.T) {
	tp := newTopo(t, "a", "b", "c")
	n := nft.New(tp.hosts())
	c := ctx(t)
	isolateA := nemesis.Grudge{"a": {"b", "c"}, "b": {"a"}, "c": {"a"}}
	require.NoError(t, n.Partition(c, isolateA))
	for _, l := range [][2]string{{"a", "b"}, {"b", "a"}, {"a", "c"}, {"c", "a"}} {
		assert.Zero(t, tp.udp(l[0], l[1], burst), "isolated: %s->%s delivered", l[0], l[1])
	}
	assert.Equal(t, burst, tp.udp("b", "c", burst), "majority side b->c")
	assert.True(t, tp.tcp("client", "a"), "the harness's client could not reach the isolated node")
	// A new grudge replaces the old one: now only c is cut off from b.
	require.NoError(t, n.Partition(c, nemesis.Grudge{"c": {"b"}}))
	assert.Equal(t, burst, tp.udp("b", "a", burst), "after replacing the grudge b->a")
	assert.Zero(t, tp.udp("b", "c", burst), "new grudge: b->c delivered")
	require.NoError(t, n.Partition(c, nemesis.Grudge{}))
	assert.Equal(t, burst, tp.udp("b", "c", burst), "empty grudge: b->c")
}

func TestLossDropsAboutTheShare(t *testing.T) {
	tp := newTopo(t, "a", "b")
	n := nft.New(tp.hosts())
	c := ctx(t)
	require.NoError(t, n.Loss(c, []nemesis.Link{{From: "a", To: "b"}}, 50))
	const probes = 400
	got := tp.udp("a", "b", probes)
	lost := 100 * float64(probes-got) / probes
	t.Logf("loss 50%%: %d/%d arrived (%.1f%% lost)", got, probes, lost)
	assert.InDelta(t, 50, lost, 20, "loss 50%%: lost %.1f%% of %d", lost, probes)
	assert.Equal(t, probes, tp.udp("b", "a", probes), "b->a has no loss")
	// A partition on top of loss keeps both; heal removes both.
	require.NoError(t, n.Partition(c, nemesis.Grudge{"a": {"b"}}))
	assert.Zero(t, tp.udp("b", "a", burst), "partition b->a delivered")
	require.NoError(t, n.Heal(c))
	assert.Equal(t, probes, tp.udp("a", "b", probes), "after heal a->b")
}

func TestHealSkipsAKilledNodeAndCleanPID(t *testing.T) {
	tp := newTopo(t, "a", "b")
	n := nft.New(tp.hosts())
	c := ctx(t)
	require.NoError(t, n.Partition(c, nemesis.Grudge{"a": {"b"}, "b": {"a"}}))
	// Kill a's process: its namespace handle is gone (the named netns survives here, but skeptic cannot know it).
	proc := tp.procs["a"]
	_ = proc.Process.Kill()
	_ = proc.Wait()
	require.NoError(t, n.Heal(c), "heal with a killed node")
	assert.Equal(t, burst, tp.udp("a", "b", burst), "b still drops a after heal")

	// CleanPID removes a table a crashed run left behind, and tolerates a process that is gone.
	require.NoError(t, n.Partition(c, nemesis.Grudge{"b": {"a"}}))
	require.Contains(t, tp.tables("b"), "skeptic", "no table to clean")
	require.NoError(t, nft.CleanPID(tp.procs["b"].Process.Pid))
	assert.NotContains(t, tp.tables("b"), "skeptic", "CleanPID left a table")
	assert.NoError(t, nft.CleanPID(proc.Process.Pid), "CleanPID of a dead process")
}

func TestRefreshReappliesAfterRestart(t *testing.T) {
	tp := newTopo(t, "a", "b")
	hosts := tp.hosts()
	// b's "container" is restarted: a new process in a fresh namespace gets no rules until Refresh.
	pid := tp.procs["b"].Process.Pid
	hosts["b"] = nft.Host{IP: tp.ip["b"], PID: func() (int, error) { return pid, nil }}
	n := nft.New(hosts)
	c := ctx(t)
	require.NoError(t, n.Partition(c, nemesis.Grudge{"b": {"a"}}))
	require.NoError(t, nft.CleanPID(pid)) // the restart: an empty namespace
	require.Equal(t, burst, tp.udp("a", "b", burst), "fresh namespace dropped")
	require.NoError(t, n.Refresh(c, "b"))
	assert.Zero(t, tp.udp("a", "b", burst), "after refresh a->b delivered")
	require.NoError(t, n.Heal(c))
}

func TestDelay(t *testing.T) {
	tp := newTopo(t, "a", "b")
	n := nft.New(tp.hosts())
	c := ctx(t)
	err := n.Delay(c, []nemesis.Link{{From: "a", To: "b"}}, 150*time.Millisecond, 0)
	if nft.NetemSupported() != nil {
		require.ErrorIs(t, err, nemesis.ErrUnsupported, "without netem Delay must be refused")
		require.ErrorContains(t, err, "sch_netem")
		t.Logf("refused as expected: %v", err)
		return
	}
	require.NoError(t, err)
	start := time.Now()
	require.True(t, tp.tcp("a", "b"), "delayed link does not deliver")
	assert.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond, "TCP exchange a->b under a 150ms delay")
	require.NoError(t, n.Heal(c))
}

func TestRejectsUnknownNodes(t *testing.T) {
	n := nft.New(map[string]nft.Host{})
	c := ctx(t)
	err := n.Partition(c, nemesis.Grudge{"x": {"y"}})
	assert.ErrorContains(t, err, `"x"`, "partition of unknown node")
	assert.Error(t, n.Loss(c, nil, 101), "loss of 101% accepted")
	assert.NoError(t, n.Heal(c), "heal of nothing")
}
