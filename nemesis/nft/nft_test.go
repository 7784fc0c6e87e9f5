package nft_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/skeptic-dev/skeptic/nemesis"
	"github.com/skeptic-dev/skeptic/nemesis/nft"
)

const burst = 20

func TestPartitionOneWayDropsOnlyOneDirection(t *testing.T) {
	tp := newTopo(t, "a", "b", "c")
	n := nft.New(tp.hosts())
	c := ctx(t)
	if got := tp.udp("a", "b", burst); got != burst {
		t.Fatalf("before any fault a->b delivered %d/%d", got, burst)
	}
	// b drops what a sends; a still hears b.
	if err := n.Partition(c, nemesis.Grudge{"b": {"a"}}); err != nil {
		t.Fatal(err)
	}
	if got := tp.udp("a", "b", burst); got != 0 {
		t.Errorf("cut a->b: %d/%d datagrams arrived, want 0", got, burst)
	}
	if got := tp.udp("b", "a", burst); got != burst {
		t.Errorf("b->a is not cut: %d/%d datagrams arrived", got, burst)
	}
	if got := tp.udp("c", "b", burst); got != burst {
		t.Errorf("c->b is not cut: %d/%d datagrams arrived", got, burst)
	}
	if tp.tcp("a", "b") {
		t.Error("a opened a TCP connection to b across the cut")
	}
	if !tp.tcp("client", "b") {
		t.Error("the harness's client could not reach b: rules must match peers only")
	}
	if !strings.Contains(tp.tables("b"), "table inet skeptic") {
		t.Errorf("b has no skeptic table: %s", tp.tables("b"))
	}
	if strings.Contains(tp.tables("a"), "skeptic") {
		t.Errorf("a, whose grudge is empty, has a table: %s", tp.tables("a"))
	}

	if err := n.Heal(c); err != nil {
		t.Fatal(err)
	}
	if got := tp.udp("a", "b", burst); got != burst {
		t.Errorf("after heal a->b delivered %d/%d", got, burst)
	}
	if !tp.tcp("a", "b") {
		t.Error("after heal a cannot reach b over TCP")
	}
	for _, m := range []string{"a", "b", "c"} {
		if s := tp.tables(m); strings.Contains(s, "skeptic") {
			t.Errorf("after heal %s still has %s", m, s)
		}
	}
	if err := n.Heal(c); err != nil {
		t.Errorf("second heal: %v", err)
	}
}

func TestPartitionIsolatesOneNodeAndReplaces(t *testing.T) {
	tp := newTopo(t, "a", "b", "c")
	n := nft.New(tp.hosts())
	c := ctx(t)
	isolateA := nemesis.Grudge{"a": {"b", "c"}, "b": {"a"}, "c": {"a"}}
	if err := n.Partition(c, isolateA); err != nil {
		t.Fatal(err)
	}
	for _, l := range [][2]string{{"a", "b"}, {"b", "a"}, {"a", "c"}, {"c", "a"}} {
		if got := tp.udp(l[0], l[1], burst); got != 0 {
			t.Errorf("isolated: %s->%s delivered %d/%d", l[0], l[1], got, burst)
		}
	}
	if got := tp.udp("b", "c", burst); got != burst {
		t.Errorf("majority side b->c delivered %d/%d", got, burst)
	}
	if !tp.tcp("client", "a") {
		t.Error("the harness's client could not reach the isolated node")
	}
	// A new grudge replaces the old one: now only c is cut off from b.
	if err := n.Partition(c, nemesis.Grudge{"c": {"b"}}); err != nil {
		t.Fatal(err)
	}
	if got := tp.udp("b", "a", burst); got != burst {
		t.Errorf("after replacing the grudge b->a delivered %d/%d", got, burst)
	}
	if got := tp.udp("b", "c", burst); got != 0 {
		t.Errorf("new grudge: b->c delivered %d/%d", got, burst)
	}
	if err := n.Partition(c, nemesis.Grudge{}); err != nil {
		t.Fatal(err)
	}
	if got := tp.udp("b", "c", burst); got != burst {
		t.Errorf("empty grudge: b->c delivered %d/%d", got, burst)
	}
}

func TestLossDropsAboutTheShare(t *testing.T) {
	tp := newTopo(t, "a", "b")
	n := nft.New(tp.hosts())
	c := ctx(t)
	if err := n.Loss(c, []nemesis.Link{{From: "a", To: "b"}}, 50); err != nil {
		t.Fatal(err)
	}
	const probes = 400
	got := tp.udp("a", "b", probes)
	lost := 100 * float64(probes-got) / probes
	t.Logf("loss 50%%: %d/%d arrived (%.1f%% lost)", got, probes, lost)
	if lost < 30 || lost > 70 {
		t.Errorf("loss 50%%: lost %.1f%% of %d, want 30..70%%", lost, probes)
	}
	if back := tp.udp("b", "a", probes); back != probes {
		t.Errorf("b->a has no loss but delivered %d/%d", back, probes)
	}
	// A partition on top of loss keeps both; heal removes both.
	if err := n.Partition(c, nemesis.Grudge{"a": {"b"}}); err != nil {
		t.Fatal(err)
	}
	if back := tp.udp("b", "a", burst); back != 0 {
		t.Errorf("partition b->a delivered %d", back)
	}
	if err := n.Heal(c); err != nil {
		t.Fatal(err)
	}
	if got := tp.udp("a", "b", probes); got != probes {
		t.Errorf("after heal a->b delivered %d/%d", got, probes)
	}
}

func TestHealSkipsAKilledNodeAndCleanPID(t *testing.T) {
	tp := newTopo(t, "a", "b")
	n := nft.New(tp.hosts())
	c := ctx(t)
	if err := n.Partition(c, nemesis.Grudge{"a": {"b"}, "b": {"a"}}); err != nil {
		t.Fatal(err)
	}
	// Kill a's process: its namespace handle is gone (the named netns survives here, but skeptic cannot know it).
	proc := tp.procs["a"]
	_ = proc.Process.Kill()
	_ = proc.Wait()
	if err := n.Heal(c); err != nil {
		t.Fatalf("heal with a killed node: %v", err)
	}
	if got := tp.udp("a", "b", burst); got != burst {
		t.Errorf("b still drops a after heal: %d/%d", got, burst)
	}

	// CleanPID removes a table a crashed run left behind, and tolerates a process that is gone.
	if err := n.Partition(c, nemesis.Grudge{"b": {"a"}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tp.tables("b"), "skeptic") {
		t.Fatal("no table to clean")
	}
	if err := nft.CleanPID(tp.procs["b"].Process.Pid); err != nil {
		t.Fatal(err)
	}
	if s := tp.tables("b"); strings.Contains(s, "skeptic") {
		t.Errorf("CleanPID left %s", s)
	}
	if err := nft.CleanPID(proc.Process.Pid); err != nil {
		t.Errorf("CleanPID of a dead process: %v", err)
	}
}

func TestRefreshReappliesAfterRestart(t *testing.T) {
	tp := newTopo(t, "a", "b")
	hosts := tp.hosts()
	// b's "container" is restarted: a new process in a fresh namespace gets no rules until Refresh.
	pid := tp.procs["b"].Process.Pid
	hosts["b"] = nft.Host{IP: tp.ip["b"], PID: func() (int, error) { return pid, nil }}
	n := nft.New(hosts)
	c := ctx(t)
	if err := n.Partition(c, nemesis.Grudge{"b": {"a"}}); err != nil {
		t.Fatal(err)
	}
	if err := nft.CleanPID(pid); err != nil { // the restart: an empty namespace
		t.Fatal(err)
	}
	if got := tp.udp("a", "b", burst); got != burst {
		t.Fatalf("fresh namespace dropped: %d/%d", got, burst)
	}
	if err := n.Refresh(c, "b"); err != nil {
		t.Fatal(err)
	}
	if got := tp.udp("a", "b", burst); got != 0 {
		t.Errorf("after refresh a->b delivered %d/%d", got, burst)
	}
	if err := n.Heal(c); err != nil {
		t.Fatal(err)
	}
}

func TestDelay(t *testing.T) {
	tp := newTopo(t, "a", "b")
	n := nft.New(tp.hosts())
	c := ctx(t)
	err := n.Delay(c, []nemesis.Link{{From: "a", To: "b"}}, 150*time.Millisecond, 0)
	if nft.NetemSupported() != nil {
		if !errors.Is(err, nemesis.ErrUnsupported) || !strings.Contains(err.Error(), "sch_netem") {
			t.Fatalf("without netem Delay returned %v, want ErrUnsupported naming sch_netem", err)
		}
		t.Logf("refused as expected: %v", err)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if !tp.tcp("a", "b") {
		t.Fatal("delayed link does not deliver")
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("TCP exchange a->b took %v under a 150ms delay", d)
	}
	if err := n.Heal(c); err != nil {
		t.Fatal(err)
	}
}

func TestRejectsUnknownNodes(t *testing.T) {
	n := nft.New(map[string]nft.Host{})
	c := ctx(t)
	if err := n.Partition(c, nemesis.Grudge{"x": {"y"}}); err == nil || !strings.Contains(err.Error(), `"x"`) {
		t.Errorf("partition of unknown node: %v", err)
	}
	if err := n.Loss(c, nil, 101); err == nil {
		t.Error("loss of 101% accepted")
	}
	if err := n.Heal(c); err != nil {
		t.Errorf("heal of nothing: %v", err)
	}
}
