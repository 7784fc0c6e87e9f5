package nft

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/netip"
	"os"
	"slices"
	"sort"
	"sync"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"

	"github.com/skeptic-dev/skeptic/nemesis"
)

// TableName is the name of skeptic's table (family inet) in each node's namespace.
const TableName = "skeptic"

// ErrNoProcess is what a Host's PID function returns (wrapped) when the node has no running process, such as a
// killed container. A PID of 0 means the same.
var ErrNoProcess = errors.New("node has no running process")

// Host is one node as the network sees it.
type Host struct {
	// IP is the node's address on the cluster network; peers' packets carry it as their source.
	IP netip.Addr
	// PID returns the PID of a process inside the node's network namespace (a container's init process). It is
	// asked again before every change, because a restarted container has a new one. It returns 0 or an error
	// wrapping ErrNoProcess when the node is not running.
	PID func() (int, error)
}

// Net is the Docker runtime's nemesis.Net: nftables rules in each node's own network namespace. It is safe for
// concurrent use.
type Net struct {
	mu     sync.Mutex
	hosts  map[string]Host
	ids    []string
	grudge nemesis.Grudge
	loss   map[nemesis.Link]float64
	delay  delayState
}

var _ nemesis.Net = (*Net)(nil)

// New returns a Net over hosts (node id -> host). It changes nothing until a fault is applied.
func New(hosts map[string]Host) *Net {
	n := &Net{hosts: make(map[string]Host, len(hosts))}
	for id, h := range hosts {
		n.hosts[id] = h
		n.ids = append(n.ids, id)
	}
	sort.Strings(n.ids)
	return n
}

// Partition makes every node a drop the packets whose source is a node of g[a], replacing the previous grudge.
// An empty grudge removes the partition (loss rules stay).
func (n *Net) Partition(ctx context.Context, g nemesis.Grudge) error {
	clean := nemesis.Grudge{}
	for a, bs := range g {
		if _, ok := n.hosts[a]; !ok {
			return fmt.Errorf("nft: partition: unknown node %q", a)
		}
		for _, b := range bs {
			if _, ok := n.hosts[b]; !ok {
				return fmt.Errorf("nft: partition: node %q: unknown peer %q", a, b)
			}
			if b != a && !slices.Contains(clean[a], b) {
				clean[a] = append(clean[a], b)
			}
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.grudge = clean
	return n.applyAll(ctx)
}

// Loss makes each link's receiver drop each packet from its sender with probability percent/100, replacing the
// previous loss rules. The probability has a resolution of 0.01%. Loss with no links, or percent 0, removes
// them.
func (n *Net) Loss(ctx context.Context, links []nemesis.Link, percent float64) error {
	if math.IsNaN(percent) || percent < 0 || percent > 100 {
		return fmt.Errorf("nft: loss: percent %v is not between 0 and 100", percent)
	}
	loss := map[nemesis.Link]float64{}
	for _, l := range links {
		if err := n.checkLink(l); err != nil {
			return fmt.Errorf("nft: loss: %w", err)
		}
		if percent > 0 {
			loss[l] = percent
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.loss = loss
	return n.applyAll(ctx)
}

func (n *Net) checkLink(l nemesis.Link) error {
	if _, ok := n.hosts[l.From]; !ok {
		return fmt.Errorf("link %s->%s: unknown node %q", l.From, l.To, l.From)
	}
	if _, ok := n.hosts[l.To]; !ok {
		return fmt.Errorf("link %s->%s: unknown node %q", l.From, l.To, l.To)
	}
	if l.From == l.To {
		return fmt.Errorf("link %s->%s: a node cannot lose its own packets", l.From, l.To)
	}
	return nil
}

// Heal deletes skeptic's table (and any delay qdisc) in every node's namespace and forgets every fault. It is
// idempotent. A node without a running process is skipped: it has no namespace left to heal. Every other
// failure is reported.
func (n *Net) Heal(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.grudge = nil
	n.loss = nil
	errs := []error{n.applyAll(ctx)}
	errs = append(errs, n.healDelay(ctx))
	return errors.Join(errs...)
}

// Refresh puts the current rules into node's namespace again. The runtime calls it after it restarts a node,
// because the restarted process has a new, empty namespace.
func (n *Net) Refresh(ctx context.Context, node string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.hosts[node]; !ok {
		return fmt.Errorf("nft: refresh: unknown node %q", node)
	}
	return errors.Join(n.apply(node), n.refreshDelay(ctx, node))
}

// applyAll writes every node's table from the current state; n.mu is held.
func (n *Net) applyAll(ctx context.Context) error {
	var errs []error
	for _, id := range n.ids {
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("nft: %s: %w", id, err))
			continue
		}
		errs = append(errs, n.apply(id))
	}
	return errors.Join(errs...)
}

// apply rebuilds node id's table; n.mu is held.
func (n *Net) apply(id string) error {
	var drops []drop
	for _, b := range n.grudge[id] {
		drops = append(drops, drop{src: n.hosts[b].IP})
	}
	for _, from := range n.ids {
		if p, ok := n.loss[nemesis.Link{From: from, To: id}]; ok {
			drops = append(drops, drop{src: n.hosts[from].IP, percent: p})
		}
	}
	pid, err := n.pid(id)
	if err != nil {
		return err
	}
	if pid == 0 {
		return nil // not running: nothing to filter, nothing to heal
	}
	err = withNetNS(pid, func(fd int) error { return writeTable(fd, drops) })
	if errors.Is(err, errGone) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("nft: node %s (pid %d): %w", id, pid, err)
	}
	return nil
}

// pid resolves node id's PID; 0 means it has no process.
func (n *Net) pid(id string) (int, error) {
	pid, err := n.hosts[id].PID()
	if errors.Is(err, ErrNoProcess) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("nft: node %s: pid: %w", id, err)
	}
	if pid < 0 {
		return 0, fmt.Errorf("nft: node %s: invalid pid %d", id, pid)
	}
	return pid, nil
}

// CleanPID removes skeptic's table from the network namespace of process pid, where a crashed run may have left
// it. A process that is gone has nothing to clean.
func CleanPID(pid int) error {
	if pid <= 0 {
		return fmt.Errorf("nft: clean: invalid pid %d", pid)
	}
	err := withNetNS(pid, func(fd int) error { return writeTable(fd, nil) })
	if err != nil && !errors.Is(err, errGone) {
		return fmt.Errorf("nft: clean pid %d: %w", pid, err)
	}
	return nil
}

// HasTable reports whether the network namespace of process pid holds skeptic's table. A process that is gone
// has none.
func HasTable(pid int) (bool, error) {
	if pid <= 0 {
		return false, fmt.Errorf("nft: invalid pid %d", pid)
	}
	var has bool
	err := withNetNS(pid, func(fd int) error {
		c, err := nftables.New(nftables.WithNetNSFd(fd))
		if err != nil {
			return err
		}
		ts, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
		if err != nil {
			return err
		}
		for _, t := range ts {
			has = has || t.Name == TableName
		}
		return nil
	})
	if errors.Is(err, errGone) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("nft: listing the tables of pid %d: %w", pid, err)
	}
	return has, nil
}

// errGone marks a process whose namespace no longer exists.
var errGone = errors.New("process gone")

// withNetNS calls fn with an open descriptor of pid's network namespace.
func withNetNS(pid int, fn func(fd int) error) error {
	f, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", pid))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ESRCH) {
		return errGone
	}
	if err != nil {
		return err
	}
	defer f.Close()
	return fn(int(f.Fd()))
}

// drop is one rule: drop packets from src, all of them (percent 0) or that share of them.
type drop struct {
	src     netip.Addr
	percent float64
}

// writeTable replaces skeptic's table in the namespace fd with one holding drops; no drops deletes it. It is
// one netlink batch, so the namespace goes from the old rules to the new ones at once.
func writeTable(fd int, drops []drop) error {
	c, err := nftables.New(nftables.WithNetNSFd(fd))
	if err != nil {
		return err
	}
	t := &nftables.Table{Name: TableName, Family: nftables.TableFamilyINet}
	// Adding first makes the delete succeed whether or not the table exists.
	c.AddTable(t)
	c.DelTable(t)
	if len(drops) > 0 {
		c.AddTable(t)
		accept := nftables.ChainPolicyAccept
		ch := c.AddChain(&nftables.Chain{
			Name:     "input",
			Table:    t,
			Type:     nftables.ChainTypeFilter,
			Hooknum:  nftables.ChainHookInput,
			Priority: nftables.ChainPriorityFilter,
			Policy:   &accept,
		})
		for _, d := range drops {
			c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: dropExprs(d)})
		}
	}
	return c.Flush()
}
