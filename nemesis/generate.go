package nemesis

// The generator: a schedule as a pure function of the seed, the nodes, the run's duration and the options.

import (
	"errors"
	"math/rand/v2"
	"slices"
	"sort"
	"time"
)

// nemesisStream separates the nemesis's random stream from others drawn from the same seed ("nemesis").
const nemesisStream = 0x6e656d65736973

// Generate makes the schedule of a run of the given duration on nodes, from seed and o, as a pure function: the
// same arguments always give the same schedule. Quiet and faulty periods of o.Interval alternate, starting
// quiet; each faulty period applies one fault, drawn uniformly from the enabled kinds and then from the kind's
// strategies, and undoes it at the period's end (or at the end of the run). Choices that depend on the running
// cluster (the leader) are left to Run, which records them.
func Generate(seed int64, nodes []string, duration time.Duration, o Options) (Schedule, error) {
	o = o.WithDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if len(nodes) == 0 {
		return nil, errors.New("nemesis: no nodes")
	}
	for _, f := range faults {
		if err := f.Validate(o, len(nodes)); err != nil {
			return nil, err
		}
	}
	nodes = sorted(nodes)
	// Canonical orders (the registry's, each kind's list of strategies), so that "--nemesis kill,partition" and
	// "partition,kill" draw alike.
	var kinds []Fault
	for _, f := range faults {
		if slices.Contains(o.Faults, f.Kind()) {
			kinds = append(kinds, f)
		}
	}
	if o.Mode == ModeOverlap {
		return overlap(seed, kinds, nodes, duration, o), nil
	}
	r := rand.New(rand.NewPCG(uint64(seed), nemesisStream))
	interval := o.Interval.D()
	s := Schedule{}
	for t := interval; t < duration && len(kinds) > 0; t += 2 * interval {
		f := kinds[r.IntN(len(kinds))]
		s = append(s, f.Generate(period(f, t, min(t+interval, duration), duration, nodes, o, r))...)
	}
	return s, nil
}

// overlap is Generate's ModeOverlap: each kind of kinds follows its own timeline, drawn from its own random
// stream (the seed and the kind), of quiet and faulty periods between Interval/2 and 3*Interval/2 long, starting
// quiet. Each fault's stop op comes before the kind's next start and no later than duration. The ops of all kinds
// are merged in time order (at the same time, in the order of kinds).
func overlap(seed int64, kinds []Fault, nodes []string, duration time.Duration, o Options) Schedule {
	interval := o.Interval.D()
	span := func(r *rand.Rand) time.Duration {
		return (interval/2 + time.Duration(r.Int64N(int64(interval)+1))).Round(time.Millisecond)
	}
	timelines := make([]Schedule, len(kinds))
	for i, f := range kinds {
		// The kind's own stream: enabling another kind does not change this one's timeline. PCG streams that
		// share a seed start correlated, so each kind gets a seed of its own (splitmix64 of the seed and kind).
		k := uint64(slices.Index(faults, f) + 1)
		r := rand.New(rand.NewPCG(splitmix64(uint64(seed)+k*0x9e3779b97f4a7c15), nemesisStream))
		for t := span(r); t < duration; {
			p := period(f, t, 0, duration, nodes, o, r) // draws the strategy, before the period's length
			p.To = min(t+span(r), duration)
			ops := f.Generate(p)
			timelines[i] = append(timelines[i], ops...)
			// The next period starts a quiet span after everything this one scheduled (a coupled cut may
			// outlast the period).
			t = max(p.To, ops[len(ops)-1].At.D()) + span(r)
		}
	}
	var s Schedule
	for i, f := range kinds {
		if f == Fault(partitionFault) {
			others := slices.Concat(timelines[:i], timelines[i+1:])
			timelines[i] = yieldToCuts(timelines[i], others)
		}
		s = append(s, timelines[i]...)
	}
	sort.SliceStable(s, func(a, b int) bool { return s[a].At < s[b].At })
	return s
}

// SettleBeforeCoupled is how long before a coupled fault (clock's bump-leader, whose period ends with a cut)
// the partition timeline leaves the network whole: a node healed from a cut has run up its ballot and takes over
// about a second later, and a leader change between the jump and the cut would aim the cut at another node
// than the one whose clock jumped.
const SettleBeforeCoupled = 3 * time.Second

// yieldToCuts returns the partition kind's timeline (pairs of start and stop) without what would disturb a cut
// that another kind couples to its fault (clock's cutAfterBump), from SettleBeforeCoupled before the start of that
// fault to the cut's heal: a grudge of the timeline that would start in that window is dropped with its heal, and
// one in place when the window opens is healed then. Another grudge during the coupled fault would move the
// leadership away from the node it aims at, or replace the cut, and a heal would end the cut, before the fault
// could show.
func yieldToCuts(part Schedule, others []Schedule) Schedule {
	type window struct{ from, to Duration }
	var cuts []window
	for _, tl := range others {
		for i, op := range tl {
			if op.F != FStartPartition {
				continue
			}
			w := window{from: op.At}
			if i >= 2 {
				// The start of the coupled fault (its start and undo come just before the cut), less SettleBeforeCoupled.
				w.from = max(0, tl[i-2].At-Duration(SettleBeforeCoupled))
			}
			for _, end := range tl[i+1:] {
				if end.F == FStopPartition {
					w.to = end.At
					cuts = append(cuts, w)
					break
				}
			}
		}
	}
	in := func(at Duration) bool {
		return slices.ContainsFunc(cuts, func(w window) bool { return at >= w.from && at <= w.to })
	}
	var out Schedule
	for i := 0; i < len(part); i++ {
		start := part[i]
		if start.F != FStartPartition {
			out = append(out, start)
			continue
		}
		var stop *Op
		if i+1 < len(part) && part[i+1].F == FStopPartition {
			stop = &part[i+1]
			i++
		}
		if in(start.At) {
			continue // dropped with its heal
		}
		out = append(out, start)
		if stop == nil {
			continue
		}
		heal := *stop
		for _, w := range cuts {
			if w.from > start.At && w.from < heal.At {
				heal.At = w.from // in place when a window opens: healed then
			}
		}
		out = append(out, heal)
	}
	return out
}

// drawer is a kind that draws its faulty periods' strategies itself (strategyKind.draw) rather than uniformly.
type drawer interface {
	draw(strategies []string, r *rand.Rand) string
}

// period returns the faulty period [from, to) of kind f, with its strategy drawn from r.
func period(f Fault, from, to, end time.Duration, nodes []string, o Options, r *rand.Rand) Period {
	p := Period{From: from, To: to, End: end, Strategies: f.Strategies(o), Nodes: nodes, Options: o, R: r}
	if len(p.Strategies) > 0 {
		if d, ok := f.(drawer); ok {
			p.Strategy = d.draw(p.Strategies, r)
		} else {
			p.Strategy = p.Strategies[r.IntN(len(p.Strategies))]
		}
	}
	return p
}

// cyclesOf lays out the period as cycles: ops returns cycle i's ops, timed from the cycle's start, and its length;
// the first cycle has the period's strategy, each later one a strategy drawn afresh (uniformly). A cycle starts
// while the first fit of it still fits in the period (the first cycle always), and none of its ops comes after
// the period's end.
func (p Period) cyclesOf(fit time.Duration, ops func(i int, strategy string) (Schedule, time.Duration)) Schedule {
	var s Schedule
	strategy := p.Strategy
	for i, c := 0, p.From; c == p.From || c+fit <= p.To; i++ {
		if c > p.From && len(p.Strategies) > 0 {
			strategy = p.Strategies[p.R.IntN(len(p.Strategies))]
		}
		cs, length := ops(i, strategy)
		for _, op := range cs {
			op.At = Duration(min(c+op.At.D(), p.To))
			s = append(s, op)
		}
		c += length
	}
	return s
}

// halfway is a cycle of the given length whose start op comes at its start and whose stop op halfway through.
func halfway(start, stop Op, cycle time.Duration) Schedule {
	return Schedule{{At: 0, F: start.F, Value: start.Value}, {At: Duration(cycle / 2), F: stop.F, Value: stop.Value}}
}

// startStop places a fault's start op at the period's start and its stop op (if F is not "") at its end.
func (p Period) startStop(start, stop Op) Schedule {
	s := Schedule{{At: Duration(p.From), F: start.F, Value: start.Value}}
	if stop.F != "" {
		s = append(s, Op{At: Duration(p.To), F: stop.F, Value: stop.Value})
	}
	return s
}

// splitmix64 scrambles x (the finalizer of Steele, Lea and Flood's SplitMix64).
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
