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

	mu          sync.Mutex // held while an op or HealAll acts
	stopped     bool       // HealAll ran: no more ops
	partitioned bool
	lossy       bool
	delayed     bool
	killed      map[string]bool
	// down mirrors killed for Down, under its own lock: Down must answer while an op holds mu.
	downMu sync.Mutex
	down   map[string]bool
	paused map[string]bool
	clocks map[string]clockState // every node whose clock the nemesis set since the last reset
}

type clockState struct {
	offset time.Duration
	rate   float64
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

// apply performs op and returns what was done; n.mu is held.
func (n *Nemesis) apply(ctx, octx context.Context, op Op) (any, error) {
	switch op.F {
	case FStartPartition:
		var v PartitionValue
		if err := decodeStrict(op.Value, &v); err != nil {
			return nil, err
		}
		if v.Strategy == PartLeader {
			leader, err := n.leader(ctx)
			if err != nil {
				return v, err
			}
			v.Leader, v.Grudge = leader, Isolate(n.env.Cluster.Nodes(), leader)
			if !slices.Contains(n.env.Cluster.Nodes(), leader) {
				return v, fmt.Errorf("the cluster names an unknown leader %q", leader)
			}
		}
		if n.env.Net == nil {
			return v, errNo("Net")
		}
		n.partitioned = true
		return v, n.env.Net.Partition(octx, v.Grudge)
	case FStopPartition:
		if n.env.Net == nil {
			return nil, errNo("Net")
		}
		err := n.env.Net.Partition(octx, Grudge{})
		if err == nil {
			n.partitioned = false
		}
		return nil, err
	case FStartLoss:
		var v LinksValue
		if err := decodeStrict(op.Value, &v); err != nil {
			return nil, err
		}
		if n.env.Net == nil {
			return v, errNo("Net")
		}
		n.lossy = true
		return v, n.env.Net.Loss(octx, v.Links, v.Percent)
	case FStopLoss:
		if n.env.Net == nil {
			return nil, errNo("Net")
		}
		err := n.env.Net.Loss(octx, nil, 0)
		if err == nil {
			n.lossy = false
		}
		return nil, err
	case FStartDelay:
		var v LinksValue
		if err := decodeStrict(op.Value, &v); err != nil {
			return nil, err
		}
		if n.env.Net == nil {
			return v, errNo("Net")
		}
		n.delayed = true
		return v, n.env.Net.Delay(octx, v.Links, v.Delay.D(), v.Jitter.D())
	case FStopDelay:
		if n.env.Net == nil {
			return nil, errNo("Net")
		}
		err := n.env.Net.Delay(octx, nil, 0, 0)
		if err == nil {
			n.delayed = false
		}
		return nil, err
	case FKill, FPause, FStart, FResume:
		return n.procOp(ctx, octx, op)
	case FClockBump, FClockStrobe, FClockSkew, FClockReset:
		return n.clockOp(ctx, octx, op)
	}
	return nil, fmt.Errorf("unknown function %q", op.F)
}

// procOp kills, starts, pauses or resumes nodes; n.mu is held.
func (n *Nemesis) procOp(ctx, octx context.Context, op Op) (any, error) {
	var v NodesValue
	if err := decodeStrict(op.Value, &v); err != nil {
		return nil, err
	}
	if n.env.Proc == nil {
		return v, errNo("Proc")
	}
	if v.Strategy == NodesLeader && (op.F == FKill || op.F == FPause) {
		leader, err := n.leader(ctx)
		if err != nil {
			return v, err
		}
		v.Leader, v.Nodes = leader, []string{leader}
	}
	if len(v.Nodes) == 0 { // start or resume everything the nemesis stopped
		set := n.killed
		if op.F == FResume {
			set = n.paused
		}
		v.Nodes = keys(set)
	}
	var errs []error
	for _, node := range v.Nodes {
		// With overlapping faults (ModeOverlap) a node can be killed while paused: a killed node is not paused
		// (its restart runs it anew), and there is nothing to pause in a killed one.
		if (op.F == FResume && !n.paused[node]) || (op.F == FPause && n.killed[node]) {
			continue
		}
		var err error
		switch op.F {
		case FKill:
			n.killed[node] = true // before the call: a half-done kill is still undone by HealAll
			n.setDown(node, true)
			if err = n.env.Proc.Kill(octx, node); err == nil {
				delete(n.paused, node) // a killed process is no longer frozen
			}
		case FStart:
			if err = n.env.Proc.Start(octx, node); err == nil {
				delete(n.killed, node)
				n.setDown(node, false)
				delete(n.paused, node) // a restarted process is not paused
			}
		case FPause:
			n.paused[node] = true
			err = n.env.Proc.Pause(octx, node)
		case FResume:
			if err = n.env.Proc.Resume(octx, node); err == nil {
				delete(n.paused, node)
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", op.F, node, err))
		}
	}
	return v, errors.Join(errs...)
}

// clockOp sets clocks; n.mu is held.
func (n *Nemesis) clockOp(ctx, octx context.Context, op Op) (any, error) {
	var v ClockValue
	if err := decodeStrict(op.Value, &v); err != nil {
		return nil, err
	}
	if n.env.Clock == nil {
		return v, errNo("Clock")
	}
	res := ClockValue{Strategy: v.Strategy, OffsetsNS: map[string]int64{}, Rates: map[string]float64{}}
	if op.F == FClockBump && v.Strategy == ClockBumpLeader {
		leader, err := n.leader(ctx)
		if err != nil {
			return res, err
		}
		v.Deltas, res.Leader = map[string]Duration{leader: v.Delta}, leader
	}
	var errs []error
	set := func(node string, offset time.Duration, rate float64) {
		n.clocks[node] = clockState{offset: offset, rate: rate} // before the call: HealAll resets it either way
		if err := n.env.Clock.SetClock(octx, node, offset, rate); err != nil {
			errs = append(errs, fmt.Errorf("set clock of %s: %w", node, err))
			return
		}
		res.OffsetsNS[node], res.Rates[node] = int64(offset), rate
		if offset == 0 && rate == 1 {
			delete(n.clocks, node)
		}
	}
	current := func(node string) clockState {
		if c, ok := n.clocks[node]; ok {
			return c
		}
		return clockState{rate: 1}
	}
	switch op.F {
	case FClockBump:
		for _, node := range keys(v.Deltas) {
			c := current(node)
			set(node, c.offset+v.Deltas[node].D(), c.rate)
		}
	case FClockSkew:
		for _, node := range keys(v.Rates) {
			set(node, current(node).offset, v.Rates[node])
		}
	case FClockReset:
		nodes := v.Nodes
		if len(nodes) == 0 {
			if n.env.Cluster == nil {
				return res, errNo("Cluster")
			}
			nodes = n.env.Cluster.Nodes()
		}
		for _, node := range nodes {
			set(node, 0, 1)
		}
	case FClockStrobe:
		// Flip between +Delta and the node's base offset every Period, for For, then leave the base.
		base := map[string]clockState{}
		for _, node := range v.Nodes {
			base[node] = current(node)
		}
		deadline := time.Now().Add(v.For.D())
		up := true
		for {
			for _, node := range v.Nodes {
				b := base[node]
				off := b.offset
				if up {
					off += v.Delta.D()
				}
				set(node, off, b.rate)
			}
			res.Flips++
			if !up && (time.Now().After(deadline) || ctx.Err() != nil || len(errs) > 0) {
				break
			}
			up = !up
			select {
			case <-ctx.Done():
			case <-time.After(v.Period.D()):
			}
		}
		res.Nodes, res.Delta, res.Period, res.For = v.Nodes, v.Delta, v.Period, v.For
	}
	return res, errors.Join(errs...)
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

// HealValue is the value of the event HealAll records: what it undid.
type HealValue struct {
	Net         bool     `json:"net"`
	Resumed     []string `json:"resumed,omitempty"`
	Started     []string `json:"started,omitempty"`
	ClocksReset []string `json:"clocks_reset,omitempty"`
}

// HealAll undoes everything the nemesis may have done and stops it for good: it heals the network (always,
// whatever the nemesis believes), resumes every node it paused, starts every node it killed, and resets every
// clock it set (retrying each reset for up to ClockResetWait, while a node it restarted comes up). It is
// idempotent. Every failure is returned (joined), never swallowed; what was healed is recorded as one "heal"
// event pair. Cancel Run's context first: HealAll waits for the op in progress.
func (n *Nemesis) HealAll(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.stopped = true
	var errs []error
	v := HealValue{}
	if n.env.Net != nil {
		v.Net = true
	}
	v.Resumed, v.Started, v.ClocksReset = keys(n.paused), keys(n.killed), keys(n.clocks)
	recErr := n.record(FHeal, v, nil)
	if n.env.Net != nil {
		if err := n.env.Net.Heal(ctx); err != nil {
			errs = append(errs, fmt.Errorf("heal network: %w", err))
		} else {
			n.partitioned, n.lossy, n.delayed = false, false, false
		}
	}
	if len(n.paused)+len(n.killed) > 0 && n.env.Proc == nil {
		errs = append(errs, errNo("Proc"))
	}
	for _, node := range keys(n.paused) {
		if n.env.Proc == nil {
			break
		}
		if err := n.env.Proc.Resume(ctx, node); err != nil {
			errs = append(errs, fmt.Errorf("resume %s: %w", node, err))
			continue
		}
		delete(n.paused, node)
	}
	for _, node := range keys(n.killed) {
		if n.env.Proc == nil {
			break
		}
		if err := n.env.Proc.Start(ctx, node); err != nil {
			errs = append(errs, fmt.Errorf("start %s: %w", node, err))
			continue
		}
		delete(n.killed, node)
		n.setDown(node, false)
	}
	// A node just started (by HealAll, or by a start op just before the end) answers its clock endpoint only
	// once its new process listens: each reset is retried for a while before it counts as a failure.
	resetBy := time.Now().Add(ClockResetWait)
	for _, node := range keys(n.clocks) {
		if n.env.Clock == nil {
			errs = append(errs, errNo("Clock"))
			break
		}
		if n.killed[node] {
			continue // its restart failed (reported above): no process to reset; the next HealAll tries again
		}
		if err := n.resetClock(ctx, node, resetBy); err != nil {
			errs = append(errs, fmt.Errorf("reset clock of %s: %w", node, err))
			continue
		}
		delete(n.clocks, node)
	}
	err := errors.Join(errs...)
	if rerr := n.record(FHeal, v, err); rerr != nil && recErr == nil {
		recErr = rerr
	}
	if err != nil {
		err = fmt.Errorf("nemesis: heal all: %w", err)
	}
	return errors.Join(err, recErr)
}

// ClockResetWait bounds how long HealAll retries the reset of a node's clock (a node it has just restarted does
// not listen yet).
var ClockResetWait = 15 * time.Second

// resetClock sets node's clock back to real time, retrying until it works, until the deadline, or until ctx ends.
func (n *Nemesis) resetClock(ctx context.Context, node string, deadline time.Time) error {
	backoff := 20 * time.Millisecond
	for {
		err := n.env.Clock.SetClock(ctx, node, 0, 1)
		if err == nil || ctx.Err() != nil || time.Now().Add(backoff).After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
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
