package nemesis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/skeptic-dev/skeptic/history"
)

// Env is what the nemesis acts on and where it writes.
type Env struct {
	// Net, Proc and Clock apply the faults; each may be nil when no op of the schedule needs it.
	Net   Net
	Proc  Proc
	Clock Clock
	// Cluster lists the nodes and names the leader.
	Cluster Cluster
	// Record writes one event into the run's history (the harness stamps index and time). An error from it
	// stops Run: a history that misses faults cannot be trusted.
	Record func(history.Event) error
	// Base is the run's time origin, the history's: Run applies each op at Base + At, so a schedule's times are
	// history times. Zero means the moment Run is called.
	Base time.Time
}

// ErrNoLeader is recorded (wrapped, with the cluster's reason) when a leader strategy finds no leader to act on;
// the op is skipped.
var ErrNoLeader = errors.New("no leader to pick")

// opTimeout bounds each action of an op (one Partition call, one node killed, ...).
const opTimeout = 30 * time.Second

// Nemesis applies a schedule's faults to a cluster and remembers what it has done, so that HealAll can undo it.
// It is safe for concurrent use: HealAll may be called while Run is running (after cancelling Run's context).
type Nemesis struct {
	env Env

	mu      sync.Mutex // held while an op or HealAll acts
	stopped bool       // HealAll ran: no more ops
	killed  map[string]bool
	// down mirrors killed for Down, under its own lock: Down must answer while an op holds mu.
	downMu sync.Mutex
	down   map[string]bool
	paused map[string]bool
	// followers are the nodes the latest kill of the followers strategy stopped, which a start of that strategy
	// restarts.
	followers []string
	clocks    map[string]clockState // every node whose clock the nemesis set since the last reset
}

// New returns a nemesis acting on env.
func New(env Env) *Nemesis {
	return &Nemesis{env: env, killed: map[string]bool{}, down: map[string]bool{}, paused: map[string]bool{}, clocks: map[string]clockState{}}
}

// SetBase sets the time origin Run measures the schedule's times from (Env.Base); call it before Run.
func (n *Nemesis) SetBase(base time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.env.Base = base
}

// Run applies s, each op at its time from now, until the schedule ends or ctx is done. Every op is recorded as
// two history events of type info, as Jepsen records its nemesis: the op as planned, then what was done (the
// grudge, the leader, the nodes, the offsets), with Error set if it failed. An op that fails is recorded and
// the run goes on; Run returns every such failure joined (nil if none), and at once on an error from Record. A
// leader strategy that finds no leader (ErrNoLeader) is only recorded: a cluster without a leader is something
// the test observes, not a failure of the nemesis.
// It returns when ctx is done, without undoing anything: the caller then calls HealAll.
func (n *Nemesis) Run(ctx context.Context, s Schedule) error {
	n.mu.Lock()
	start := n.env.Base
	n.mu.Unlock()
	if start.IsZero() {
		start = time.Now()
	}
	var errs []error
	for _, op := range s {
		if w := time.Until(start.Add(op.At.D())); w > 0 {
			t := time.NewTimer(w)
			select {
			case <-ctx.Done():
				t.Stop()
				return errors.Join(errs...)
			case <-t.C:
			}
		}
		if ctx.Err() != nil {
			return errors.Join(errs...)
		}
		opErr, recErr := n.do(ctx, op)
		if recErr != nil {
			return errors.Join(append(errs, recErr)...)
		}
		if opErr != nil && ctx.Err() == nil && !errors.Is(opErr, ErrNoLeader) {
			errs = append(errs, fmt.Errorf("nemesis: %s at %s: %w", op.F, op.At.D(), opErr))
		}
	}
	return errors.Join(errs...)
}

// do applies one op between its two events.
func (n *Nemesis) do(ctx context.Context, op Op) (opErr, recErr error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopped {
		return nil, nil
	}
	plan := op.Value
	if len(plan) == 0 {
		plan = history.Null()
	}
	if err := n.record(op.F, plan, nil); err != nil {
		return nil, err
	}
	// An op that started finishes even when the run's context ends meanwhile (a fault half applied is worse than
	// one applied and then healed), but it is bounded.
	octx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
	defer cancel()
	result, err := n.apply(ctx, octx, op)
	return err, n.record(op.F, result, err)
}

func (n *Nemesis) record(f string, value any, err error) error {
	if n.env.Record == nil {
		return nil
	}
	var raw json.RawMessage
	switch v := value.(type) {
	case json.RawMessage:
		raw = v
	case nil:
		raw = history.Null()
	default:
		raw = mustJSON(v)
	}
	e := history.Event{Process: history.NemesisProcess, Type: history.Info, F: f, Value: raw}
	if err != nil {
		e.Error = err.Error()
	}
	if rerr := n.env.Record(e); rerr != nil {
		return fmt.Errorf("nemesis: record %s: %w", f, rerr)
	}
	return nil
}

// apply performs op through the Fault of its function, and returns what was done; n.mu is held.
func (n *Nemesis) apply(ctx, octx context.Context, op Op) (any, error) {
	f, _ := faultOf(op.F)
	if f == nil {
		return nil, fmt.Errorf("unknown function %q", op.F)
	}
	return f.Apply(ctx, octx, n, op)
}

// leader asks the cluster who leads.
func (n *Nemesis) leader(ctx context.Context) (string, error) {
	if n.env.Cluster == nil {
		return "", errNo("Cluster")
	}
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	l, err := n.env.Cluster.Leader(c)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNoLeader, err)
	}
	return l, nil
}

func errNo(what string) error { return fmt.Errorf("the runtime provides no %s", what) }

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return slices.Clip(out)
}

// setDown records that the nemesis has (or no longer has) node killed.
func (n *Nemesis) setDown(node string, down bool) {
	n.downMu.Lock()
	defer n.downMu.Unlock()
	if down {
		n.down[node] = true
	} else {
		delete(n.down, node)
	}
}

// Down returns the nodes the nemesis has killed and not started again, including a node it is killing right now
// (it is counted from just before the kill until just after its restart). It answers at once, also while an op
// is running, so that the harness can tell a node the nemesis stopped from one someone else stopped.
func (n *Nemesis) Down() map[string]bool {
	n.downMu.Lock()
	defer n.downMu.Unlock()
	m := make(map[string]bool, len(n.down))
	for k := range n.down {
		m[k] = true
	}
	return m
}
