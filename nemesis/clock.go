package nemesis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/skeptic-dev/skeptic/internal/field"
	"github.com/skeptic-dev/skeptic/targets"
)

// Clock strategies (--clock).
const (
	// ClockBump jumps the clocks of a random subset of nodes by a random ±(10ms..60s) each.
	ClockBump = "bump"
	// ClockBumpLeader jumps the clock of the node Cluster.Leader names at the time of the fault ahead by a random
	// 10s..60s, and its reset sets it back by as much: with a leader partition (--nemesis-mode overlap), what a
	// lease on the wall clock fears. It joins the defaults for a target that names its leader (WithLeader), and
	// is then drawn for half the clock periods.
	ClockBumpLeader = "bump-leader"
	// ClockStrobe flips the clocks of a random subset of nodes between +delta and 0, every period, for a while.
	ClockStrobe = "strobe"
	// ClockSkewRate makes the clocks of a random subset of nodes run faster or slower (x0.5..x0.95, x1.05..x2).
	ClockSkewRate = "skew-rate"
	// ClockReset sets every clock back to real time and rate 1.
	ClockReset = "reset"
)

// DefaultClock is --clock when not given.
var DefaultClock = []string{ClockBump, ClockStrobe, ClockSkewRate}

// clock skews node clocks through the target's clock capability: clock-bump, clock-strobe and clock-skew move
// them, clock-reset puts them back.
type clock struct{ strategyKind }

var clockFault = &clock{strategyKind{
	kind: FaultClock, field: "clock",
	known:    []string{ClockBump, ClockBumpLeader, ClockStrobe, ClockSkewRate, ClockReset},
	defaults: DefaultClock, leader: []string{ClockBumpLeader}, favoured: ClockBumpLeader,
	list: func(o *Options) *[]string { return &o.Clock },
}}

type clockState struct {
	offset time.Duration
	rate   float64
}

func (*clock) Funcs() (begin, end []string) {
	return []string{FClockBump, FClockStrobe, FClockSkew}, []string{FClockReset}
}

func (*clock) Needs(f, strategy string) []targets.Capability {
	if strategy == ClockBumpLeader {
		return []targets.Capability{targets.CapClock, targets.CapStatus}
	}
	return []targets.Capability{targets.CapClock}
}

func (*clock) Generate(p Period) Schedule {
	nodes, r := p.Nodes, p.R
	v := ClockValue{Strategy: p.Strategy}
	var f string
	switch p.Strategy {
	case ClockBumpLeader:
		// Ahead, by at least 10s: the reset that undoes it sets the leader's clock back by as much, which lets a
		// lease on the wall clock outlast the followers' refusal after the reset, so the window stays open after
		// the clock fault ends, until another kind's fault cuts the leader off (a jump back opens it only until
		// its own reset). The jump must span the time until then and another leader's election.
		f, v.Delta = FClockBump, Duration(logUniform(r, 10*time.Second, 60*time.Second))
		// Undone by a reset of every clock: the leader is known only when the op runs.
		s := p.startStop(Op{F: f, Value: mustJSON(v)}, Op{F: FClockReset, Value: mustJSON(ClockValue{})})
		return append(s, p.cutAfterBump()...)
	case ClockBump:
		f, v.Deltas = FClockBump, map[string]Duration{}
		for _, n := range subset(nodes, r) {
			v.Deltas[n] = Duration(signed(r, logUniform(r, 10*time.Millisecond, 60*time.Second)))
		}
	case ClockStrobe:
		f, v.Nodes = FClockStrobe, subset(nodes, r)
		v.Delta = Duration(signed(r, logUniform(r, 10*time.Millisecond, 10*time.Second)))
		v.Period = Duration(logUniform(r, 10*time.Millisecond, time.Second))
		v.For = Duration(p.Options.Interval.D() / 2)
	case ClockSkewRate:
		f, v.Rates = FClockSkew, map[string]float64{}
		for _, n := range subset(nodes, r) {
			u := r.Float64()
			rate := 1.05 + 0.95*u
			if r.IntN(2) == 0 {
				rate = 0.5 + 0.45*u
			}
			v.Rates[n] = math.Round(rate*1000) / 1000
		}
	case ClockReset:
		// A fault of its own, with nothing to undo.
		return p.startStop(Op{F: FClockReset, Value: mustJSON(v)}, Op{})
	}
	touched := v.Nodes
	for n := range v.Deltas {
		touched = append(touched, n)
	}
	for n := range v.Rates {
		touched = append(touched, n)
	}
	return p.startStop(Op{F: f, Value: mustJSON(v)}, Op{F: FClockReset, Value: mustJSON(ClockValue{Nodes: sorted(touched)})})
}

// LeaderCutAfterBump is how long the leader is cut off right after a bump-leader period's reset, in overlap mode
// with partitions enabled too (cutAfterBump).
const LeaderCutAfterBump = 10 * time.Second

// cutAfterBump couples a bump-leader period to the partition kind, in overlap mode with partition enabled: as the
// reset sets the leader's clock back by the jump, the leader (the same node, which a clock jump does not depose)
// is cut off from every other node for LeaderCutAfterBump. That is the fault a lease timed on the wall clock
// fears, and the two kinds' independent timelines gave it only by chance: the leader must be cut off within the
// seconds after its clock went back, for longer than its clients' blocked writes take to time out (5 s), so that
// they read from it again while another leader takes writes. It draws nothing from the random stream.
func (p Period) cutAfterBump() Schedule {
	if p.Options.Mode != ModeOverlap || !slices.Contains(p.Options.Faults, FaultPartition) {
		return nil
	}
	end := p.To + LeaderCutAfterBump
	if end > p.End {
		end = p.End
	}
	if end <= p.To {
		return nil
	}
	return Schedule{
		{At: Duration(p.To), F: FStartPartition, Value: mustJSON(PartitionValue{Strategy: PartLeader})},
		{At: Duration(end), F: FStopPartition},
	}
}

// subset is a random non-empty subset of nodes, in order.
func subset(nodes []string, r *rand.Rand) []string {
	var out []string
	for _, n := range nodes {
		if r.IntN(2) == 0 {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		out = []string{nodes[r.IntN(len(nodes))]}
	}
	return out
}

// logUniform draws between lo and hi so that each order of magnitude is as likely, rounded to a millisecond.
func logUniform(r *rand.Rand, lo, hi time.Duration) time.Duration {
	x := math.Exp(math.Log(float64(lo)) + r.Float64()*(math.Log(float64(hi))-math.Log(float64(lo))))
	return time.Duration(x).Round(time.Millisecond)
}

func signed(r *rand.Rand, d time.Duration) time.Duration {
	if r.IntN(2) == 0 {
		return -d
	}
	return d
}

func (*clock) Check(op Op, nodes []string) error {
	var v ClockValue
	if err := decodeStrict(op.Value, &v); err != nil {
		return err
	}
	if err := knownNodes("value.nodes", nodes, v.Nodes...); err != nil {
		return err
	}
	switch op.F {
	case FClockBump:
		if v.Strategy == ClockBumpLeader {
			if len(v.Deltas) > 0 || v.Delta == 0 {
				return field.Errorf("value.strategy", "bump-leader wants a delta (the leader's jump, picked at run time) and no deltas")
			}
			return nil
		}
		if len(v.Deltas) == 0 {
			return field.Errorf("value.deltas", "must name at least one node")
		}
		for n := range v.Deltas {
			if err := knownNodes("value.deltas", nodes, n); err != nil {
				return err
			}
		}
	case FClockSkew:
		if len(v.Rates) == 0 {
			return field.Errorf("value.rates", "must name at least one node")
		}
		for n, rate := range v.Rates {
			if err := knownNodes("value.rates", nodes, n); err != nil {
				return err
			}
			if !(rate > 0) || math.IsInf(rate, 0) {
				return field.Errorf("value.rates["+n+"]", "must be > 0, got %v", rate)
			}
		}
	case FClockStrobe:
		if len(v.Nodes) == 0 {
			return field.Errorf("value.nodes", "must name at least one node")
		}
		if v.Period <= 0 {
			return field.Errorf("value.period", "must be > 0")
		}
		if v.For < 0 {
			return field.Errorf("value.for", "must be >= 0")
		}
	}
	return nil
}

func (*clock) Apply(ctx, octx context.Context, n *Nemesis, op Op) (any, error) {
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

func (*clock) Describe(f string, value json.RawMessage) (string, bool) {
	var v ClockValue
	if value != nil && json.Unmarshal(value, &v) != nil {
		return "", false
	}
	s := f + strategyText(v.Strategy, v.Leader)
	var parts []string
	switch {
	case len(v.OffsetsNS) > 0 && f != FClockStrobe:
		for _, n := range keys(v.OffsetsNS) {
			p := fmt.Sprintf("%s %+v", n, time.Duration(v.OffsetsNS[n]))
			if r, ok := v.Rates[n]; ok && r != 1 {
				p += fmt.Sprintf(" ×%g", r)
			}
			parts = append(parts, p)
		}
	case len(v.Deltas) > 0:
		for _, n := range keys(v.Deltas) {
			parts = append(parts, fmt.Sprintf("%s %+v", n, v.Deltas[n].D()))
		}
	case len(v.Rates) > 0:
		for _, n := range keys(v.Rates) {
			parts = append(parts, fmt.Sprintf("%s ×%g", n, v.Rates[n]))
		}
	case f == FClockStrobe:
		parts = append(parts, fmt.Sprintf("%s by %s every %s for %s", strings.Join(v.Nodes, " "), v.Delta.D(), v.Period.D(), v.For.D()))
	case len(v.Nodes) > 0:
		parts = append(parts, strings.Join(v.Nodes, " "))
	case f == FClockReset:
		parts = append(parts, "every node")
	}
	if len(parts) > 0 {
		s += ": " + strings.Join(parts, ", ")
	}
	return s, true
}

// resetClocks sets back every clock the nemesis set, for HealAll, after restartKilled; n.mu is held. A node just
// started (by HealAll, or by a start op just before the end) answers its clock endpoint only once its new
// process listens: each reset is retried for a while (ClockResetWait) before it counts as a failure.
func (n *Nemesis) resetClocks(ctx context.Context) []error {
	var errs []error
	resetBy := time.Now().Add(ClockResetWait)
	for _, node := range keys(n.clocks) {
		if n.env.Clock == nil {
			errs = append(errs, errNo("Clock"))
			break
		}
		if n.killed[node] {
			continue // its restart failed (reported by HealAll): no process to reset; the next HealAll tries again
		}
		if err := n.resetClock(ctx, node, resetBy); err != nil {
			errs = append(errs, fmt.Errorf("reset clock of %s: %w", node, err))
			continue
		}
		delete(n.clocks, node)
	}
	return errs
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
