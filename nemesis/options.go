package nemesis

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/skeptic-dev/skeptic/targets"
)

// The fault kinds --nemesis accepts.
const (
	FaultPartition = "partition"
	FaultKill      = "kill"
	FaultPause     = "pause"
	FaultClock     = "clock"
	FaultLoss      = "loss"
	FaultDelay     = "delay"
)

// KnownFaults lists the fault kinds --nemesis accepts, in documentation order. "all" means AllFaults and "none"
// means no nemesis.
var KnownFaults = []string{FaultPartition, FaultKill, FaultPause, FaultClock, FaultLoss, FaultDelay}

// AllFaults is what --nemesis all enables. Delay is left out: the Docker runtime cannot apply it on a kernel
// without sch_netem, so it must be asked for by name.
var AllFaults = []string{FaultPartition, FaultKill, FaultPause, FaultClock, FaultLoss}

// Partition strategies (--partition), Jepsen's grudges.
const (
	// PartOne isolates one random node from all the others, both ways.
	PartOne = "one"
	// PartMajority splits the nodes at random into a minority and a majority that cannot talk.
	PartMajority = "majority"
	// PartMajoritiesRing lets every node hear a majority, but no two nodes the same majority.
	PartMajoritiesRing = "majorities-ring"
	// PartBridge cuts the nodes into two halves that only one node, in both, joins.
	PartBridge = "bridge"
	// PartLeader isolates the node Cluster.Leader names at the time of the fault.
	PartLeader = "leader"
	// PartOneWay makes one random node stop hearing the others, while they still hear it.
	PartOneWay = "one-way"
)

// Node-choosing strategies of kill and pause (--kill, --pause).
const (
	// NodesOne picks one random node.
	NodesOne = "one"
	// NodesLeader picks the node Cluster.Leader names at the time of the fault.
	NodesLeader = "leader"
	// NodesMinority picks a random minority: between 1 and (n-1)/2 nodes.
	NodesMinority = "minority"
	// NodesMajority picks a random majority of exactly n/2+1 nodes (kill only).
	NodesMajority = "majority"
	// NodesAll picks every node (kill only).
	NodesAll = "all"
)

// Clock strategies (--clock).
const (
	// ClockBump jumps the clocks of a random subset of nodes by a random ±(10ms..60s) each.
	ClockBump = "bump"
	// ClockBumpLeader jumps the clock of the node Cluster.Leader names at the time of the fault ahead by a random
	// 10s..60s, and its reset sets it back by as much: with a leader partition (--nemesis-mode overlap), what a
	// lease on the wall clock fears. It joins the defaults for a target that names its leader (WithLeader).
	ClockBumpLeader = "bump-leader"
	// ClockStrobe flips the clocks of a random subset of nodes between +delta and 0, every period, for a while.
	ClockStrobe = "strobe"
	// ClockSkewRate makes the clocks of a random subset of nodes run faster or slower (x0.5..x0.95, x1.05..x2).
	ClockSkewRate = "skew-rate"
	// ClockReset sets every clock back to real time and rate 1.
	ClockReset = "reset"
)

var (
	partitionStrategies = []string{PartOne, PartMajority, PartMajoritiesRing, PartBridge, PartLeader, PartOneWay}
	killStrategies      = []string{NodesOne, NodesLeader, NodesMinority, NodesMajority, NodesAll}
	pauseStrategies     = []string{NodesOne, NodesLeader, NodesMinority}
	clockStrategies     = []string{ClockBump, ClockBumpLeader, ClockStrobe, ClockSkewRate, ClockReset}
)

// Duration is a time.Duration written in JSON as Go duration text ("5s", "1m30s"). It also reads a plain number
// of nanoseconds.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalJSON writes d as duration text.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads duration text or nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("duration %q: %w", s, err)
		}
		*d = Duration(v)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("duration %s is neither duration text nor nanoseconds", b)
	}
	*d = Duration(n)
	return nil
}

// Options choose the faults a generated schedule draws from. They are part of a run's config.json.
type Options struct {
	// Faults are the enabled fault kinds (--nemesis); empty means none.
	Faults []string `json:"faults"`
	// Partition, Kill, Pause and Clock are the enabled strategies of each kind (--partition, --kill, --pause,
	// --clock).
	Partition []string `json:"partition,omitempty"`
	Kill      []string `json:"kill,omitempty"`
	Pause     []string `json:"pause,omitempty"`
	Clock     []string `json:"clock,omitempty"`
	// Interval is the length of each quiet and each faulty period (--nemesis-interval).
	Interval Duration `json:"interval"`
	// Mode is how the enabled faults share the run (--nemesis-mode): ModeAlternate ("" too) or ModeOverlap.
	Mode string `json:"mode,omitempty"`
	// LossPercent is the share of packets the loss fault drops on every link between nodes (--loss).
	LossPercent float64 `json:"loss_percent,omitempty"`
	// Delay and Jitter are what the delay fault adds to every link between nodes (--delay, --jitter).
	Delay  Duration `json:"delay,omitempty"`
	Jitter Duration `json:"jitter,omitempty"`
}

// The defaults of Options' fields when their flag is not given.
var (
	// DefaultPartition leaves out leader, which needs the target's status capability.
	DefaultPartition = []string{PartOne, PartMajority, PartMajoritiesRing, PartBridge, PartOneWay}
	// DefaultKill kills in cycles (Generate): minority (one node or more), majority and all; leader joins them
	// for a target that names its leader (WithLeader). one is a minority of one, so it is left out: each cycle's
	// draw is more often one of the strategies that expose crash-restart bugs.
	DefaultKill  = []string{NodesMinority, NodesMajority, NodesAll}
	DefaultPause = []string{NodesOne, NodesMinority}
	DefaultClock = []string{ClockBump, ClockStrobe, ClockSkewRate}
)

// Default values of Options.
const (
	DefaultInterval    = 10 * time.Second
	DefaultLossPercent = 30
	DefaultDelay       = 100 * time.Millisecond
	DefaultJitter      = 50 * time.Millisecond
)

// Nemesis modes (--nemesis-mode).
const (
	// ModeAlternate alternates quiet and faulty periods of Interval; each faulty period applies one fault. One
	// fault at a time makes a failing run easy to read, and it is what runs did before modes existed, so that a
	// recorded seed still gives the same schedule: it is the default.
	ModeAlternate = "alternate"
	// ModeOverlap gives each enabled fault kind its own seeded timeline of quiet and faulty periods (each between
	// Interval/2 and 3*Interval/2 long), so that faults of different kinds overlap, as Jepsen's combined nemesis
	// does: a flaw that needs two faults at once (a clock jump on a cut-off leader) can be reached. Every fault is
	// still undone by its own stop op, and everything at the end.
	ModeOverlap = "overlap"
)

// Flags are the nemesis's command-line flags as typed. An empty string or zero means the flag was not given.
type Flags struct {
	Nemesis   string        // --nemesis: comma-separated fault kinds, "all" or "none"
	Partition string        // --partition
	Kill      string        // --kill
	Pause     string        // --pause
	Clock     string        // --clock
	Interval  time.Duration // --nemesis-interval
	Loss      float64       // --loss (percent)
	Delay     time.Duration // --delay
	Jitter    time.Duration // --jitter
	Mode      string        // --nemesis-mode
}

// ParseOptions turns flags into Options, filling defaults, and validates them. Its errors name the flag.
func ParseOptions(f Flags) (Options, error) {
	var o Options
	var err error
	if o.Faults, err = ParseFaults(f.Nemesis); err != nil {
		return Options{}, err
	}
	// The values as typed are checked before WithDefaults drops those of kinds that are not enabled: a bad
	// value is an error even where it would have no effect.
	if err := checkFlagValues(f); err != nil {
		return Options{}, err
	}
	// A value flag enables its fault kind, as a strategy flag does (harness.ParseNemesis); with an explicit
	// --nemesis none, any fault flag contradicts it.
	given := []struct {
		flag, kind string
		set        bool
	}{
		{"--partition", FaultPartition, f.Partition != ""}, {"--kill", FaultKill, f.Kill != ""},
		{"--pause", FaultPause, f.Pause != ""}, {"--clock", FaultClock, f.Clock != ""},
		{"--loss", FaultLoss, f.Loss != 0}, {"--delay", FaultDelay, f.Delay != 0}, {"--jitter", FaultDelay, f.Jitter != 0},
	}
	for _, g := range given {
		if !g.set {
			continue
		}
		if strings.TrimSpace(f.Nemesis) == "none" {
			return Options{}, fmt.Errorf("%s: given with --nemesis none; drop one of them", g.flag)
		}
		if g.kind == FaultLoss || g.kind == FaultDelay {
			if !slices.Contains(o.Faults, g.kind) {
				o.Faults = append(o.Faults, g.kind)
			}
		}
	}
	o.Partition = splitList(f.Partition)
	o.Kill = splitList(f.Kill)
	o.Pause = splitList(f.Pause)
	o.Clock = splitList(f.Clock)
	o.Interval = Duration(f.Interval)
	o.LossPercent = f.Loss
	o.Delay, o.Jitter = Duration(f.Delay), Duration(f.Jitter)
	o.Mode = strings.TrimSpace(f.Mode)
	o = o.WithDefaults()
	return o, o.Validate()
}

// checkFlagValues checks the numeric nemesis flags as typed (zero means not given).
func checkFlagValues(f Flags) error {
	if f.Interval < 0 {
		return fmt.Errorf("--nemesis-interval: must be > 0, got %s", f.Interval)
	}
	if math.IsNaN(f.Loss) || f.Loss < 0 || f.Loss > 100 {
		return fmt.Errorf("--loss: must be a percentage between 0 and 100, got %v", f.Loss)
	}
	if f.Delay < 0 {
		return fmt.Errorf("--delay: must be >= 0, got %s", f.Delay)
	}
	if f.Jitter < 0 {
		return fmt.Errorf("--jitter: must be >= 0, got %s", f.Jitter)
	}
	return nil
}

// ParseFaults reads --nemesis: a comma-separated list of KnownFaults, "all", or "none" (or nothing).
func ParseFaults(s string) ([]string, error) {
	var out []string
	list := splitList(s)
	for _, f := range list {
		switch {
		case f == "none":
			if len(list) > 1 {
				return nil, fmt.Errorf("--nemesis: none cannot be combined with other faults (got %q)", s)
			}
		case f == "all":
			for _, a := range AllFaults {
				if !slices.Contains(out, a) {
					out = append(out, a)
				}
			}
		case slices.Contains(KnownFaults, f):
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		default:
			return nil, fmt.Errorf("--nemesis: unknown fault %q (want a comma-separated list of %s, or all, or none)",
				f, strings.Join(KnownFaults, ", "))
		}
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// WithDefaults fills every unset field of an enabled fault kind with its default, and clears the options of
// kinds that are not enabled, so that config.json records only what the run uses.
func (o Options) WithDefaults() Options {
	on := func(k string) bool { return slices.Contains(o.Faults, k) }
	pick := func(kind string, v, def []string) []string {
		if !on(kind) {
			return nil
		}
		if len(v) == 0 {
			return slices.Clone(def)
		}
		return v
	}
	o.Partition = pick(FaultPartition, o.Partition, DefaultPartition)
	o.Kill = pick(FaultKill, o.Kill, DefaultKill)
	o.Pause = pick(FaultPause, o.Pause, DefaultPause)
	o.Clock = pick(FaultClock, o.Clock, DefaultClock)
	if o.Interval == 0 {
		o.Interval = Duration(DefaultInterval)
	}
	if !on(FaultLoss) {
		o.LossPercent = 0
	} else if o.LossPercent == 0 {
		o.LossPercent = DefaultLossPercent
	}
	if !on(FaultDelay) {
		o.Delay, o.Jitter = 0, 0
	} else if o.Delay == 0 && o.Jitter == 0 {
		o.Delay, o.Jitter = Duration(DefaultDelay), Duration(DefaultJitter)
	}
	return o
}

// Validate checks every field, naming its flag in the error.
func (o Options) Validate() error {
	for _, f := range o.Faults {
		if !slices.Contains(KnownFaults, f) {
			return fmt.Errorf("--nemesis: unknown fault %q (want a comma-separated list of %s, or all, or none)",
				f, strings.Join(KnownFaults, ", "))
		}
	}
	lists := []struct {
		flag, kind string
		v, known   []string
	}{
		{"--partition", FaultPartition, o.Partition, partitionStrategies},
		{"--kill", FaultKill, o.Kill, killStrategies},
		{"--pause", FaultPause, o.Pause, pauseStrategies},
		{"--clock", FaultClock, o.Clock, clockStrategies},
	}
	for _, l := range lists {
		for _, s := range l.v {
			if !slices.Contains(l.known, s) {
				return fmt.Errorf("%s: unknown strategy %q (want %s)", l.flag, s, strings.Join(l.known, ", "))
			}
		}
		if slices.Contains(o.Faults, l.kind) && len(l.v) == 0 {
			return fmt.Errorf("%s: no strategy for the enabled fault %s (want some of %s)", l.flag, l.kind,
				strings.Join(l.known, ", "))
		}
	}
	if o.Interval <= 0 {
		return fmt.Errorf("--nemesis-interval: must be > 0, got %s", o.Interval.D())
	}
	if o.Mode != "" && o.Mode != ModeAlternate && o.Mode != ModeOverlap {
		return fmt.Errorf("--nemesis-mode: unknown mode %q (want %s or %s)", o.Mode, ModeAlternate, ModeOverlap)
	}
	if math.IsNaN(o.LossPercent) || o.LossPercent < 0 || o.LossPercent > 100 {
		return fmt.Errorf("--loss: must be a percentage between 0 and 100, got %v", o.LossPercent)
	}
	if o.Delay < 0 {
		return fmt.Errorf("--delay: must be >= 0, got %s", o.Delay.D())
	}
	if o.Jitter < 0 {
		return fmt.Errorf("--jitter: must be >= 0, got %s", o.Jitter.D())
	}
	return nil
}

// Needs lists the target capabilities the options' faults need, each with what needs it, in the form
// targets.RequireCapabilities takes, so the harness refuses a run before it starts.
func (o Options) Needs() map[targets.Capability]string {
	need := map[targets.Capability]string{}
	if slices.Contains(o.Faults, FaultClock) {
		need[targets.CapClock] = "--nemesis clock"
	}
	for _, l := range []struct {
		flag, kind string
		v          []string
	}{{"--partition", FaultPartition, o.Partition}, {"--kill", FaultKill, o.Kill}, {"--pause", FaultPause, o.Pause}, {"--clock", FaultClock, o.Clock}} {
		if slices.Contains(o.Faults, l.kind) && (slices.Contains(l.v, "leader") || slices.Contains(l.v, ClockBumpLeader)) {
			if _, ok := need[targets.CapStatus]; !ok {
				need[targets.CapStatus] = l.flag + " leader"
			}
		}
	}
	return need
}

// WithLeader adds the leader strategy to each enabled kind (partition, kill, pause; bump-leader for clock) whose
// strategies are that kind's defaults, for a target that can name its leader: the faults that aim at the leader
// are the ones that expose most leader bugs (an early acknowledgement, a stale lease). Strategies the user named
// are left as they are.
func (o Options) WithLeader() Options {
	add := func(v, def []string, leader string) []string {
		if len(v) == 0 || !slices.Equal(v, def) {
			return v
		}
		return append(slices.Clone(v), leader)
	}
	o.Partition = add(o.Partition, DefaultPartition, PartLeader)
	o.Kill = add(o.Kill, DefaultKill, NodesLeader)
	o.Pause = add(o.Pause, DefaultPause, NodesLeader)
	o.Clock = add(o.Clock, DefaultClock, ClockBumpLeader)
	return o
}
