package nemesis

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/skeptic-dev/skeptic/targets"
)

// A Fault is one kind of fault (partition, kill, pause, clock, loss, delay), as Jepsen reifies its nemeses: one
// value that knows its options, draws its ops from the seed, checks an op of its kind, says what it needs from
// the target, and applies its ops to the cluster. Each kind is one file (partition.go, kill.go, ...); the rest of
// the package iterates the registry, Faults, and never switches on a kind or a function.
//
// Undoing is shared, not per kind: the network is healed as a whole (Net.Heal removes every rule of every kind),
// and HealAll restarts, resumes and resets what the Nemesis remembers having killed, paused and skewed.
type Fault interface {
	// Kind is the kind's name in --nemesis and Options.Faults ("partition").
	Kind() string
	// Funcs are the schedule functions (Op.F) of the kind: those that begin a fault, and those that end one.
	Funcs() (begin, end []string)

	// Strategies returns the kind's strategies that o enables, in canonical order; nil for a kind without
	// strategies (loss, delay).
	Strategies(o Options) []string
	// Defaults returns o with the kind's unset fields filled when the kind is enabled, and cleared when not.
	Defaults(o Options, enabled bool) Options
	// WithLeader returns o with the kind's leader strategies added, when the kind has some and o has its defaults.
	WithLeader(o Options) Options
	// Validate checks the kind's fields of o (enabled or not) and, when nodes > 0, that a cluster of that many
	// nodes is big enough for what o enables. Errors are *field.Error, named relative to Options.
	Validate(o Options, nodes int) error
	// Needs lists the target capabilities an op of function f with the given strategy needs; f "" asks for
	// the kind's options, when strategy is enabled.
	Needs(f, strategy string) []targets.Capability

	// Generate lays out the kind's ops of one faulty period of a generated schedule.
	Generate(p Period) Schedule
	// Check validates an op of the kind against a cluster of nodes. Errors are *field.Error, named relative to
	// the op ("value.nodes").
	Check(op Op, nodes []string) error
	// Apply performs an op of the kind on n's cluster and returns what was done, for the event Run records. ctx
	// is the run's (a leader lookup, a strobe, end with it); octx bounds each call to the runtime. n.mu is held.
	Apply(ctx, octx context.Context, n *Nemesis, op Op) (any, error)
	// Describe says in a few words what an op of the kind (or its recorded event) does; false when value
	// cannot be read.
	Describe(f string, value json.RawMessage) (string, bool)
}

// Period is one faulty period of one kind in a generated schedule, with the random stream to draw it from.
type Period struct {
	// From and To bound the period; the fault starts at From and is undone no later than To.
	From, To time.Duration
	// End is the run's duration: no op of the schedule may come after it.
	End time.Duration
	// Strategy is the strategy drawn for the period ("" for a kind without strategies); Strategies are all the
	// enabled ones, in canonical order, for a kind that draws again within the period (kill).
	Strategy   string
	Strategies []string
	// Nodes are the cluster's nodes, sorted.
	Nodes []string
	// Options are the run's options, with defaults.
	Options Options
	// R is the schedule's random stream: every draw comes from it, in a fixed order.
	R *rand.Rand
}

// The fault kinds --nemesis accepts.
const (
	FaultPartition = "partition"
	FaultKill      = "kill"
	FaultPause     = "pause"
	FaultClock     = "clock"
	FaultLoss      = "loss"
	FaultDelay     = "delay"
)

// faults is the registry: every fault kind, in documentation order, which is also the canonical order the
// generator draws kinds in (so it must not change: recorded seeds replay by it).
var faults = []Fault{partitionFault, killFault, pauseFault, clockFault, lossFault, delayFault}

// Faults returns every fault kind, in documentation order.
func Faults() []Fault { return slices.Clone(faults) }

// KnownFaults lists the fault kinds --nemesis accepts, in documentation order. "all" means AllFaults and "none"
// means no nemesis.
var KnownFaults = kindNames(faults)

// AllFaults is what --nemesis all enables. Delay is left out: the Docker runtime cannot apply it on a kernel
// without sch_netem, so it must be asked for by name.
var AllFaults = kindNames(slices.DeleteFunc(slices.Clone(faults), func(f Fault) bool { return f == delayFault }))

func kindNames(fs []Fault) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Kind()
	}
	return out
}

// faultNamed returns the fault of a kind, or nil.
func faultNamed(kind string) Fault {
	for _, f := range faults {
		if f.Kind() == kind {
			return f
		}
	}
	return nil
}

// faultOf returns the fault a schedule function belongs to, or nil, and whether f begins a fault.
func faultOf(f string) (Fault, bool) {
	for _, k := range faults {
		begin, end := k.Funcs()
		if slices.Contains(begin, f) {
			return k, true
		}
		if slices.Contains(end, f) {
			return k, false
		}
	}
	return nil, false
}

// Kind returns the fault kind of a schedule function, as --nemesis names it (FStartPartition and FStopPartition
// are "partition", FKill and FStart "kill", ...), "heal" for FHeal, and f itself for anything else.
func Kind(f string) string {
	if k, _ := faultOf(f); k != nil {
		return k.Kind()
	}
	return f
}

// Begins reports whether f starts a fault (as opposed to ending one): start-partition, kill, pause, the clock
// functions but clock-reset, start-loss, start-delay.
func Begins(f string) bool {
	_, begins := faultOf(f)
	return begins
}
