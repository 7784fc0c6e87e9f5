package nemesis

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"time"

	"github.com/skeptic-dev/skeptic/targets"
)

// The functions (Op.F, and history.Event.F of nemesis events) of a schedule.
const (
	FStartPartition = "start-partition" // value PartitionValue
	FStopPartition  = "stop-partition"  // value null
	FKill           = "kill"            // value NodesValue
	FStart          = "start"           // value NodesValue; no nodes: every node the nemesis killed
	FPause          = "pause"           // value NodesValue
	FResume         = "resume"          // value NodesValue; no nodes: every node the nemesis paused
	FClockBump      = "clock-bump"      // value ClockValue with Deltas
	FClockStrobe    = "clock-strobe"    // value ClockValue with Nodes, Delta, Period, For
	FClockSkew      = "clock-skew"      // value ClockValue with Rates
	FClockReset     = "clock-reset"     // value ClockValue with Nodes; no nodes: every node
	FStartLoss      = "start-loss"      // value LinksValue with Percent
	FStopLoss       = "stop-loss"       // value null
	FStartDelay     = "start-delay"     // value LinksValue with Delay and Jitter
	FStopDelay      = "stop-delay"      // value null
	// FHeal is not scheduled: it is the event HealAll records.
	FHeal = "heal"
)

// Op is one timed step of a schedule.
type Op struct {
	// At is when the step happens, on the run's clock: history time, which starts with the load.
	At Duration `json:"at"`
	// F says what the step does (FStartPartition, FKill, ...).
	F string `json:"f"`
	// Value says exactly how; its type depends on F. Null for the stop functions.
	Value json.RawMessage `json:"value,omitempty"`
}

// Schedule is a list of ops in time order. Written as JSON, it is the --nemesis-schedule file format and what a
// run's config.json records:
//
//	[{"at":"10s","f":"start-partition","value":{"strategy":"one","grudge":{"n1":["n2","n3"],"n2":["n1"],"n3":["n1"]}}},
//	 {"at":"20s","f":"stop-partition"}]
type Schedule []Op

// PartitionValue is the value of start-partition. In the events Run records it also says who led.
type PartitionValue struct {
	// Strategy is how Grudge was chosen; with PartLeader, the grudge is chosen when the op runs.
	Strategy string `json:"strategy,omitempty"`
	// Grudge is the partition to apply (Grudge[a] lists the nodes a drops).
	Grudge Grudge `json:"grudge,omitempty"`
	// Leader is the node Cluster.Leader named, in recorded events of the leader strategy.
	Leader string `json:"leader,omitempty"`
}

// NodesValue is the value of kill, start, pause and resume.
type NodesValue struct {
	// Strategy is how Nodes were chosen; with NodesLeader they are chosen when the op runs.
	Strategy string `json:"strategy,omitempty"`
	// Nodes are the nodes acted on. For start and resume, none means every node the nemesis killed or paused.
	Nodes []string `json:"nodes,omitempty"`
	// Leader is the node Cluster.Leader named, in recorded events of the leader strategy.
	Leader string `json:"leader,omitempty"`
}

// ClockValue is the value of the clock functions; which fields matter depends on the function.
type ClockValue struct {
	// Strategy is the --clock strategy that made the op.
	Strategy string `json:"strategy,omitempty"`
	// Leader is the node Cluster.Leader named, in recorded events of the bump-leader strategy.
	Leader string `json:"leader,omitempty"`
	// Deltas (clock-bump) are added to each node's current offset.
	Deltas map[string]Duration `json:"deltas,omitempty"`
	// Rates (clock-skew) are the clock rates to set; in recorded events, the rate each node now runs at.
	Rates map[string]float64 `json:"rates,omitempty"`
	// Nodes are the nodes of clock-strobe and clock-reset (none: every node).
	Nodes []string `json:"nodes,omitempty"`
	// Delta, Period and For (clock-strobe): flip the offset between Delta and 0 every Period, for For. Delta
	// alone (clock-bump with strategy bump-leader): the jump of the leader's clock.
	Delta  Duration `json:"delta,omitempty"`
	Period Duration `json:"period,omitempty"`
	For    Duration `json:"for,omitempty"`
	// OffsetsNS, in recorded events, is the offset in nanoseconds each node's clock now has.
	OffsetsNS map[string]int64 `json:"offsets_ns,omitempty"`
	// Flips, in recorded clock-strobe events, is how many times the clocks were set.
	Flips int `json:"flips,omitempty"`
}

// LinksValue is the value of start-loss and start-delay.
type LinksValue struct {
	// Links are the directions affected.
	Links []Link `json:"links"`
	// Percent (start-loss) is the share of packets dropped.
	Percent float64 `json:"percent,omitempty"`
	// Delay and Jitter (start-delay) are added to each packet.
	Delay  Duration `json:"delay,omitempty"`
	Jitter Duration `json:"jitter,omitempty"`
}

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
		return nil, fmt.Errorf("nemesis: no nodes")
	}
	if err := checkSizes(o, len(nodes)); err != nil {
		return nil, err
	}
	nodes = sorted(nodes)
	r := rand.New(rand.NewPCG(uint64(seed), nemesisStream))
	// Canonical orders, so that "--nemesis kill,partition" and "partition,kill" draw alike.
	kinds := canonical(o.Faults, KnownFaults)
	strategies := map[string][]string{
		FaultPartition: canonical(o.Partition, partitionStrategies),
		FaultKill:      canonical(o.Kill, killStrategies),
		FaultPause:     canonical(o.Pause, pauseStrategies),
		FaultClock:     canonical(o.Clock, clockStrategies),
	}
	interval := o.Interval.D()
	if o.Mode == ModeOverlap {
		return overlap(seed, kinds, strategies, nodes, duration, o), nil
	}
	s := Schedule{}
	for t := interval; t < duration && len(kinds) > 0; t += 2 * interval {
		kind := kinds[r.IntN(len(kinds))]
		strategy := ""
		if st := strategies[kind]; len(st) > 0 {
			strategy = drawStrategy(kind, st, r)
		}
		stopAt := min(t+interval, duration)
		if c := cycleOf(kind, o.Mode); c > 0 {
			s = append(s, cycles(kind, c, t, stopAt, strategy, strategies[kind], nodes, o, r)...)
			continue
		}
		start, stop := faultOps(kind, strategy, nodes, o, r)
		s = append(s, Op{At: Duration(t), F: start.F, Value: start.Value})
		if stop.F != "" {
			s = append(s, Op{At: Duration(stopAt), F: stop.F, Value: stop.Value})
		}
	}
	return s, nil
}

// KillCycle is the length of one kill and restart in a faulty period of kills: the nodes are killed at its start
// and restarted halfway through, and the next cycle kills a fresh draw of nodes. Crash-restart bugs need restarts
// more than downtime (a node that forgets what it promised forgets it on its restart), and whether one shows can
// hang on which nodes restart together, so a period of kills tries several draws instead of one.
const KillCycle = 2500 * time.Millisecond

// drawStrategy draws the strategy of a faulty period of kind from st, uniformly, except that a clock period
// jumps the leader's clock (bump-leader) half the time when that strategy is enabled, and a partition period
// isolates the leader half the time when that is enabled: a lease on the wall clock breaks only when the
// leader's own clock jumps and that leader is then cut off, which random subsets and grudges do now and then.
// (In alternate mode the first cycle of a partition period is the leader's anyway: cycles.)
func drawStrategy(kind string, st []string, r *rand.Rand) string {
	if kind == FaultClock && slices.Contains(st, ClockBumpLeader) && r.IntN(2) == 0 {
		return ClockBumpLeader
	}
	if kind == FaultPartition && slices.Contains(st, PartLeader) && r.IntN(2) == 0 {
		return PartLeader
	}
	return st[r.IntN(len(st))]
}

// PartitionCycle is the length of one partition and heal in a faulty period of partitions: the grudge starts at
// its start and heals halfway through, and the next cycle draws a fresh grudge. Leader bugs show at a leader
// change, and the change that exposes them most is the heal: a node cut off for a few seconds has run up its
// ballot in failed elections, and on its return it deposes a busy leader whose latest slots a majority accepted
// but does not yet know chosen. One partition per period gave one such heal; cycles give several.
const PartitionCycle = 5 * time.Second

// cycleOf is the cycle of a kind whose faulty periods are cycles of fault and undo (0: one fault a period).
// Partitions are cycled in alternate mode only: in overlap mode, where faults combine, a partition holds for its
// whole period, since a flaw that needs the leader cut off while its clock is off (wallclock-lease) needs the
// cut to outlast a client's timed-out write before the client reads from the old leader again.
func cycleOf(kind, mode string) time.Duration {
	switch {
	case kind == FaultKill:
		return KillCycle
	case kind == FaultPartition && mode != ModeOverlap:
		return PartitionCycle
	}
	return 0
}

// cycles lays out the faults of kind in the period [from, to): fault and undo cycles of length cycle (at least
// one), each undone halfway through, the first with strategy, each later one with a strategy drawn afresh. For
// partitions with the leader strategy enabled, every other cycle, starting with the first, isolates the leader
// instead: the heal that follows it is the leader change leader bugs need, and a random grudge cuts the leader
// off only now and then.
func cycles(kind string, cycle, from, to time.Duration, strategy string, strategies []string, nodes []string, o Options, r *rand.Rand) Schedule {
	var s Schedule
	for i, c := 0, from; c == from || c+cycle <= to; i, c = i+1, c+cycle {
		if c > from && len(strategies) > 0 {
			strategy = strategies[r.IntN(len(strategies))]
		}
		if kind == FaultPartition && i%2 == 0 && slices.Contains(strategies, PartLeader) {
			strategy = PartLeader
		}
		start, stop := faultOps(kind, strategy, nodes, o, r)
		s = append(s, Op{At: Duration(c), F: start.F, Value: start.Value},
			Op{At: Duration(min(c+cycle/2, to)), F: stop.F, Value: stop.Value})
	}
	return s
}

// faultOps draws one fault of kind and strategy, and returns the op that starts it and the op that undoes it (F
// "" when nothing needs undoing).
func faultOps(kind, strategy string, nodes []string, o Options, r *rand.Rand) (start, stop Op) {
	switch kind {
	case FaultPartition:
		v := PartitionValue{Strategy: strategy}
		switch strategy {
		case PartOne:
			v.Grudge = Isolate(nodes, nodes[r.IntN(len(nodes))])
		case PartMajority:
			v.Grudge = Majority(nodes, r)
		case PartMajoritiesRing:
			v.Grudge = MajoritiesRing(nodes, r)
		case PartBridge:
			v.Grudge = Bridge(nodes, r)
		case PartOneWay:
			v.Grudge = OneWay(nodes, nodes[r.IntN(len(nodes))])
		}
		return Op{F: FStartPartition, Value: mustJSON(v)}, Op{F: FStopPartition}
	case FaultKill, FaultPause:
		v := NodesValue{Strategy: strategy, Nodes: pickNodes(strategy, nodes, r)}
		undo := NodesValue{Nodes: v.Nodes}
		if kind == FaultKill {
			return Op{F: FKill, Value: mustJSON(v)}, Op{F: FStart, Value: mustJSON(undo)}
		}
		return Op{F: FPause, Value: mustJSON(v)}, Op{F: FResume, Value: mustJSON(undo)}
	case FaultClock:
		v := ClockValue{Strategy: strategy}
		var f string
		switch strategy {
		case ClockBumpLeader:
			// Ahead, by at least 10s: the reset that undoes it sets the leader's clock back by as much, which lets
			// a lease on the wall clock outlast the followers' refusal for X after the reset, so the window stays
			// open after the clock fault ends, until another kind's fault cuts the leader off (a jump back opens
			// it only until its own reset). X must span the time until then and another leader's election.
			f, v.Delta = FClockBump, Duration(logUniform(r, 10*time.Second, 60*time.Second))
			// Undone by a reset of every clock: the leader is known only when the op runs.
			return Op{F: f, Value: mustJSON(v)}, Op{F: FClockReset, Value: mustJSON(ClockValue{})}
		case ClockBump:
			f, v.Deltas = FClockBump, map[string]Duration{}
			for _, n := range subset(nodes, r) {
				v.Deltas[n] = Duration(signed(r, logUniform(r, 10*time.Millisecond, 60*time.Second)))
			}
		case ClockStrobe:
			f, v.Nodes = FClockStrobe, subset(nodes, r)
			v.Delta = Duration(signed(r, logUniform(r, 10*time.Millisecond, 10*time.Second)))
			v.Period = Duration(logUniform(r, 10*time.Millisecond, time.Second))
			v.For = Duration(o.Interval.D() / 2)
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
			return Op{F: FClockReset, Value: mustJSON(v)}, Op{}
		}
		touched := v.Nodes
		for n := range v.Deltas {
			touched = append(touched, n)
		}
		for n := range v.Rates {
			touched = append(touched, n)
		}
		return Op{F: f, Value: mustJSON(v)}, Op{F: FClockReset, Value: mustJSON(ClockValue{Nodes: sorted(touched)})}
	case FaultLoss:
		v := LinksValue{Links: allLinks(nodes), Percent: o.LossPercent}
		return Op{F: FStartLoss, Value: mustJSON(v)}, Op{F: FStopLoss}
	case FaultDelay:
		v := LinksValue{Links: allLinks(nodes), Delay: o.Delay, Jitter: o.Jitter}
		return Op{F: FStartDelay, Value: mustJSON(v)}, Op{F: FStopDelay}
	}
	panic(fmt.Sprintf("nemesis: fault kind %q passed validation but has no generator", kind))
}

// pickNodes chooses the nodes of a kill or pause; none for the leader strategy, which Run resolves.
func pickNodes(strategy string, nodes []string, r *rand.Rand) []string {
	n := len(nodes)
	var k int
	switch strategy {
	case NodesOne:
		k = 1
	case NodesMinority:
		k = 1 + r.IntN((n-1)/2)
	case NodesMajority:
		k = n/2 + 1
	case NodesAll:
		k = n
	default:
		return nil
	}
	return sorted(shuffled(nodes, r)[:k])
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

func allLinks(nodes []string) []Link {
	var l []Link
	for _, a := range nodes {
		for _, b := range nodes {
			if a != b {
				l = append(l, Link{From: a, To: b})
			}
		}
	}
	return l
}

// canonical returns the members of v in the order of known.
func canonical(v, known []string) []string {
	var out []string
	for _, k := range known {
		if slices.Contains(v, k) {
			out = append(out, k)
		}
	}
	return out
}

// checkSizes refuses strategies the cluster is too small for.
func checkSizes(o Options, n int) error {
	need := func(flag, strategy string, min int) error {
		if n < min {
			return fmt.Errorf("%s: %s needs at least %d nodes, the cluster has %d", flag, strategy, min, n)
		}
		return nil
	}
	for _, s := range o.Partition {
		min := 2
		if s == PartMajoritiesRing || s == PartBridge {
			min = 3
		}
		if err := need("--partition", s, min); err != nil {
			return err
		}
	}
	for _, l := range []struct {
		flag string
		v    []string
	}{{"--kill", o.Kill}, {"--pause", o.Pause}} {
		if slices.Contains(l.v, NodesMinority) {
			if err := need(l.flag, NodesMinority, 3); err != nil {
				return err
			}
		}
	}
	for _, f := range []string{FaultLoss, FaultDelay} {
		if slices.Contains(o.Faults, f) {
			if err := need("--nemesis", f, 2); err != nil {
				return err
			}
		}
	}
	return nil
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("nemesis: marshal %T: %v", v, err))
	}
	return b
}

// LoadSchedule reads and validates a --nemesis-schedule file for a cluster of nodes.
func LoadSchedule(path string, nodes []string) (Schedule, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--nemesis-schedule: %w", err)
	}
	s, err := ParseSchedule(b, nodes)
	if err != nil {
		return nil, fmt.Errorf("--nemesis-schedule %s: %w", path, err)
	}
	return s, nil
}

// ParseSchedule decodes and validates a schedule (a JSON list of ops) for a cluster of nodes. The ops are sorted
// by time, keeping the order of ops at the same time. Errors name the line of the text (and the op) at fault.
//
// b may also be a run's config.json: its schedule, the list at .nemesis.schedule, is read (errors still name
// the line of config.json).
func ParseSchedule(b []byte, nodes []string) (Schedule, error) {
	const want = `not a JSON list of ops {"at", "f", "value"} (nor a run's config.json, with the list at .nemesis.schedule)`
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		list, err := configSchedule(b)
		if err != nil {
			return nil, err
		}
		b = list
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	tok, err := d.Token()
	if err != nil {
		line, msg := jsonErrAt(b, err, 0)
		return nil, fmt.Errorf("line %d: %s: %s", line, want, msg)
	}
	if delim, ok := tok.(json.Delim); !ok || delim != '[' {
		return nil, fmt.Errorf("line %d: %s: found %v where the list should begin", lineOf(b, d.InputOffset()-1), want, tok)
	}
	var s Schedule
	for i := 0; d.More(); i++ {
		start := skipSeparators(b, d.InputOffset())
		var op Op
		if err := d.Decode(&op); err != nil {
			line, msg := jsonErrAt(b, err, start)
			return nil, fmt.Errorf("line %d: op %d: %s", line, i, msg)
		}
		if err := op.validate(nodes); err != nil {
			return nil, fmt.Errorf("line %d: op %d (at %s, %s): %w", lineOf(b, start), i, op.At.D(), op.F, err)
		}
		s = append(s, op)
	}
	if _, err := d.Token(); err != nil { // the closing bracket
		line, msg := jsonErrAt(b, err, d.InputOffset())
		return nil, fmt.Errorf("line %d: %s: %s", line, want, msg)
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, fmt.Errorf("line %d: more text after the list of ops", lineOf(b, skipSeparators(b, d.InputOffset())))
	}
	sort.SliceStable(s, func(i, j int) bool { return s[i].At < s[j].At })
	return s, nil
}

// jsonErrAt says where a decoding error is, and what it is: the line of the syntax or type error's own offset,
// else (an unknown field, a bad duration) the line where the value being decoded starts.
func jsonErrAt(b []byte, err error, start int64) (int, string) {
	off := start
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset - 1
	case errors.As(err, &te):
		off = te.Offset - 1
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return lineOf(b, int64(len(b))), "the text ends early, before the list is closed"
	}
	return lineOf(b, off), err.Error()
}

// lineOf returns the 1-based line of byte offset off in b.
func lineOf(b []byte, off int64) int {
	off = max(0, min(off, int64(len(b))))
	return 1 + bytes.Count(b[:off], []byte("\n"))
}

// skipSeparators returns the offset of the first byte at or after off that is neither white space nor a comma.
func skipSeparators(b []byte, off int64) int64 {
	for off < int64(len(b)) && bytes.IndexByte([]byte(" \t\r\n,"), b[off]) >= 0 {
		off++
	}
	return off
}

// Validate checks every op's time, function and value against a cluster of nodes; errors name the op.
func (s Schedule) Validate(nodes []string) error {
	for i, op := range s {
		if err := op.validate(nodes); err != nil {
			return fmt.Errorf("op %d (at %s, %s): %w", i, op.At.D(), op.F, err)
		}
	}
	return nil
}

func (op Op) validate(nodes []string) error {
	if op.At < 0 {
		return fmt.Errorf("at: must be >= 0")
	}
	known := func(field string, ns ...string) error {
		for _, n := range ns {
			if !slices.Contains(nodes, n) {
				return fmt.Errorf("%s: unknown node %q (the cluster has %v)", field, n, nodes)
			}
		}
		return nil
	}
	switch op.F {
	case FStopPartition, FStopLoss, FStopDelay:
		if !nullish(op.Value) {
			return fmt.Errorf("value: must be null or absent, got %s", op.Value)
		}
	case FStartPartition:
		var v PartitionValue
		if err := decodeStrict(op.Value, &v); err != nil {
			return err
		}
		if v.Strategy != "" && !slices.Contains(partitionStrategies, v.Strategy) {
			return fmt.Errorf("strategy: unknown %q", v.Strategy)
		}
		if v.Strategy == PartLeader {
			if len(v.Grudge) > 0 {
				return fmt.Errorf("grudge: must be empty with the leader strategy, which picks it at run time")
			}
			return nil
		}
		for a, bs := range v.Grudge {
			if err := known("grudge", a); err != nil {
				return err
			}
			if err := known("grudge["+a+"]", bs...); err != nil {
				return err
			}
		}
	case FKill, FPause, FStart, FResume:
		var v NodesValue
		if err := decodeStrict(op.Value, &v); err != nil {
			return err
		}
		if err := known("nodes", v.Nodes...); err != nil {
			return err
		}
		if (op.F == FKill || op.F == FPause) && v.Strategy != NodesLeader && len(v.Nodes) == 0 {
			return fmt.Errorf("nodes: must name at least one node (or strategy must be leader)")
		}
		if v.Strategy == NodesLeader && len(v.Nodes) > 0 && (op.F == FKill || op.F == FPause) {
			return fmt.Errorf("nodes: must be empty with the leader strategy, which picks the node at run time")
		}
	case FClockBump, FClockStrobe, FClockSkew, FClockReset:
		var v ClockValue
		if err := decodeStrict(op.Value, &v); err != nil {
			return err
		}
		if err := known("nodes", v.Nodes...); err != nil {
			return err
		}
		switch op.F {
		case FClockBump:
			if v.Strategy == ClockBumpLeader {
				if len(v.Deltas) > 0 || v.Delta == 0 {
					return fmt.Errorf("strategy bump-leader: wants a delta (the leader's jump, picked at run time) and no deltas")
				}
				break
			}
			if len(v.Deltas) == 0 {
				return fmt.Errorf("deltas: must name at least one node")
			}
			for n := range v.Deltas {
				if err := known("deltas", n); err != nil {
					return err
				}
			}
		case FClockSkew:
			if len(v.Rates) == 0 {
				return fmt.Errorf("rates: must name at least one node")
			}
			for n, rate := range v.Rates {
				if err := known("rates", n); err != nil {
					return err
				}
				if !(rate > 0) || math.IsInf(rate, 0) {
					return fmt.Errorf("rates[%s]: must be > 0, got %v", n, rate)
				}
			}
		case FClockStrobe:
			if len(v.Nodes) == 0 {
				return fmt.Errorf("nodes: must name at least one node")
			}
			if v.Period <= 0 {
				return fmt.Errorf("period: must be > 0")
			}
			if v.For < 0 {
				return fmt.Errorf("for: must be >= 0")
			}
		}
	case FStartLoss, FStartDelay:
		var v LinksValue
		if err := decodeStrict(op.Value, &v); err != nil {
			return err
		}
		for _, l := range v.Links {
			if err := known("links", l.From, l.To); err != nil {
				return err
			}
			if l.From == l.To {
				return fmt.Errorf("links: %s->%s links a node to itself", l.From, l.To)
			}
		}
		if op.F == FStartLoss && (!(v.Percent > 0) || v.Percent > 100) {
			return fmt.Errorf("percent: must be in (0, 100], got %v", v.Percent)
		}
		if op.F == FStartDelay && (v.Delay < 0 || v.Jitter < 0) {
			return fmt.Errorf("delay, jitter: must be >= 0")
		}
	default:
		return fmt.Errorf("f: unknown function %q", op.F)
	}
	return nil
}

func nullish(v json.RawMessage) bool {
	t := bytes.TrimSpace(v)
	return len(t) == 0 || string(t) == "null" || string(t) == "{}"
}

func decodeStrict(v json.RawMessage, into any) error {
	if nullish(v) {
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(v))
	d.DisallowUnknownFields()
	if err := d.Decode(into); err != nil {
		return fmt.Errorf("value: %w", err)
	}
	return nil
}

// Needs lists the target capabilities the schedule's ops need, each with the first op that needs it, in the
// form targets.RequireCapabilities takes.
func (s Schedule) Needs() map[targets.Capability]string {
	need := map[targets.Capability]string{}
	add := func(c targets.Capability, i int, op Op, why string) {
		if _, ok := need[c]; !ok {
			need[c] = fmt.Sprintf("the schedule's op %d (at %s, %s%s)", i, op.At.D(), op.F, why)
		}
	}
	for i, op := range s {
		switch op.F {
		case FClockBump, FClockStrobe, FClockSkew, FClockReset:
			add(targets.CapClock, i, op, "")
			var v struct {
				Strategy string `json:"strategy"`
			}
			_ = json.Unmarshal(op.Value, &v)
			if v.Strategy == ClockBumpLeader {
				add(targets.CapStatus, i, op, ", strategy bump-leader")
			}
		case FStartPartition, FKill, FPause:
			var v struct {
				Strategy string `json:"strategy"`
			}
			_ = json.Unmarshal(op.Value, &v)
			if v.Strategy == "leader" {
				add(targets.CapStatus, i, op, ", strategy leader")
			}
		}
	}
	return need
}

// DelayProber is implemented by a Net that can tell, before a run, whether Delay will work (nft.Net on a kernel
// without sch_netem cannot).
type DelayProber interface {
	// CanDelay returns nil, or an error wrapping ErrUnsupported saying why delay cannot be applied.
	CanDelay() error
}

// Preflight returns an error when net cannot apply a fault the schedule contains, so the harness can refuse the
// run before it starts.
func (s Schedule) Preflight(net Net) error {
	for i, op := range s {
		if op.F != FStartDelay {
			continue
		}
		if p, ok := net.(DelayProber); ok {
			if err := p.CanDelay(); err != nil {
				return fmt.Errorf("the schedule's op %d (at %s, %s): %w", i, op.At.D(), op.F, err)
			}
		}
		return nil
	}
	return nil
}

// configSchedule returns the text of a run's config.json with everything but the list at .nemesis.schedule
// blanked out (newlines kept), so that ParseSchedule reads the list and its errors name config.json's lines.
func configSchedule(b []byte) ([]byte, error) {
	var cfg struct {
		Nemesis *struct {
			Schedule json.RawMessage `json:"schedule"`
		} `json:"nemesis"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		line, msg := jsonErrAt(b, err, 0)
		return nil, fmt.Errorf("line %d: a JSON object, so read as a run's config.json, but: %s", line, msg)
	}
	if cfg.Nemesis == nil || len(cfg.Nemesis.Schedule) == 0 || string(cfg.Nemesis.Schedule) == "null" {
		return nil, fmt.Errorf("a JSON object, so read as a run's config.json, but it has no schedule at .nemesis.schedule " +
			"(a schedule file is a JSON list of ops, or the config.json of a run that had a nemesis)")
	}
	i := bytes.Index(b, cfg.Nemesis.Schedule)
	if i < 0 { // re-encoded: no line numbers to keep
		return cfg.Nemesis.Schedule, nil
	}
	out := bytes.Clone(b)
	for k := range out {
		if (k < i || k >= i+len(cfg.Nemesis.Schedule)) && out[k] != '\n' {
			out[k] = ' '
		}
	}
	return out, nil
}

// overlap is Generate's ModeOverlap: each kind of kinds follows its own timeline, drawn from its own random
// stream (the seed and the kind), of quiet and faulty periods between Interval/2 and 3*Interval/2 long, starting
// quiet. Each fault's stop op comes before the kind's next start and no later than duration. The ops of all kinds
// are merged in time order (at the same time, in the order of kinds).
func overlap(seed int64, kinds []string, strategies map[string][]string, nodes []string, duration time.Duration, o Options) Schedule {
	interval := o.Interval.D()
	span := func(r *rand.Rand) time.Duration {
		return (interval/2 + time.Duration(r.Int64N(int64(interval)+1))).Round(time.Millisecond)
	}
	var s Schedule
	for _, kind := range kinds {
		// The kind's own stream: enabling another kind does not change this one's timeline. PCG streams that
		// share a seed start correlated, so each kind gets a seed of its own (splitmix64 of the seed and kind).
		k := uint64(slices.Index(KnownFaults, kind) + 1)
		r := rand.New(rand.NewPCG(splitmix64(uint64(seed)+k*0x9e3779b97f4a7c15), nemesisStream))
		for t := span(r); t < duration; {
			strategy := ""
			if st := strategies[kind]; len(st) > 0 {
				strategy = drawStrategy(kind, st, r)
			}
			stopAt := min(t+span(r), duration)
			if c := cycleOf(kind, o.Mode); c > 0 {
				s = append(s, cycles(kind, c, t, stopAt, strategy, strategies[kind], nodes, o, r)...)
				t = stopAt + span(r)
				continue
			}
			start, stop := faultOps(kind, strategy, nodes, o, r)
			s = append(s, Op{At: Duration(t), F: start.F, Value: start.Value})
			if stop.F != "" {
				s = append(s, Op{At: Duration(stopAt), F: stop.F, Value: stop.Value})
			}
			t = stopAt + span(r)
		}
	}
	sort.SliceStable(s, func(a, b int) bool { return s[a].At < s[b].At })
	return s
}

// splitmix64 scrambles x (the finalizer of Steele, Lea and Flood's SplitMix64).
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
