package nemesis

// The options a generated schedule draws from: the command-line flags, how they become Options, their
// defaults and their validation. What each fault kind owns of them is in its Fault (partition.go, ...).

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/skeptic-dev/skeptic/internal/field"
	"github.com/skeptic-dev/skeptic/targets"
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

// Options choose the faults a generated schedule draws from. They are part of a run's config.json; errors about
// them are *field.Error named by their JSON names here ("loss_percent").
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

// DefaultInterval is --nemesis-interval when not given. The defaults of each kind's fields are beside the kind
// (DefaultPartition, DefaultKill, DefaultPause, DefaultClock, DefaultLossPercent, DefaultDelay, DefaultJitter).
const DefaultInterval = 10 * time.Second

// Nemesis modes (--nemesis-mode).
const (
	// ModeAlternate alternates quiet and faulty periods of Interval; each faulty period applies one fault. One
	// fault at a time makes a failing run easy to read, and it is what runs did before modes existed, so that a
	// recorded seed still gives the same schedule: it is the default.
	ModeAlternate = "alternate"
	// ModeOverlap gives each enabled fault kind its own seeded timeline of quiet and faulty periods (each between
	// Interval/2 and 3*Interval/2 long), so that faults of different kinds overlap, as Jepsen's combined nemesis
	// does: a flaw that needs two faults at once (a clock jump on a cut-off leader) can be reached. Where two kinds
	// must meet in one way, one kind couples the other's fault to its own (clock's cutAfterBump) and the other's
	// timeline yields meanwhile (yieldToCuts). Every fault is still undone by its own stop op, and everything at
	// the end.
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

// ParseOptions turns flags into Options, filling defaults, and validates them. Its errors are *field.Error
// naming the field of Options that the flag fills.
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
		field   string
		set     bool
		enables string // the kind a value flag enables; a strategy flag's is enabled by harness.ParseNemesis
	}{
		{"partition", f.Partition != "", ""}, {"kill", f.Kill != "", ""}, {"pause", f.Pause != "", ""},
		{"clock", f.Clock != "", ""}, {"loss_percent", f.Loss != 0, FaultLoss}, {"delay", f.Delay != 0, FaultDelay},
		{"jitter", f.Jitter != 0, FaultDelay},
	}
	for _, g := range given {
		if !g.set {
			continue
		}
		if strings.TrimSpace(f.Nemesis) == "none" {
			return Options{}, field.Errorf(g.field, "given with --nemesis none; drop one of them")
		}
		if g.enables != "" && !slices.Contains(o.Faults, g.enables) {
			o.Faults = append(o.Faults, g.enables)
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
		return field.Errorf("interval", "must be > 0, got %s", f.Interval)
	}
	if math.IsNaN(f.Loss) || f.Loss < 0 || f.Loss > 100 {
		return field.Errorf("loss_percent", "must be a percentage between 0 and 100, got %v", f.Loss)
	}
	if f.Delay < 0 {
		return field.Errorf("delay", "must be >= 0, got %s", f.Delay)
	}
	if f.Jitter < 0 {
		return field.Errorf("jitter", "must be >= 0, got %s", f.Jitter)
	}
	return nil
}

// ParseFaults reads --nemesis: a comma-separated list of KnownFaults, "all", or "none" (or nothing). Its errors
// are *field.Error of the field "faults".
func ParseFaults(s string) ([]string, error) {
	var out []string
	list := splitList(s)
	for _, f := range list {
		switch {
		case f == "none":
			if len(list) > 1 {
				return nil, field.Errorf("faults", "none cannot be combined with other faults (got %q)", s)
			}
		case f == "all":
			for _, a := range AllFaults {
				if !slices.Contains(out, a) {
					out = append(out, a)
				}
			}
		case faultNamed(f) != nil:
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		default:
			return nil, unknownFault(f)
		}
	}
	return out, nil
}

func unknownFault(f string) error {
	return field.Errorf("faults", "unknown fault %q (want a comma-separated list of %s, or all, or none)",
		f, strings.Join(KnownFaults, ", "))
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
	for _, f := range faults {
		o = f.Defaults(o, slices.Contains(o.Faults, f.Kind()))
	}
	if o.Interval == 0 {
		o.Interval = Duration(DefaultInterval)
	}
	return o
}

// Validate checks every field. Its error is a *field.Error named by the field's JSON name in Options.
func (o Options) Validate() error {
	for _, f := range o.Faults {
		if faultNamed(f) == nil {
			return unknownFault(f)
		}
	}
	for _, f := range faults {
		if err := f.Validate(o, 0); err != nil {
			return err
		}
	}
	if o.Interval <= 0 {
		return field.Errorf("interval", "must be > 0, got %s", o.Interval.D())
	}
	if o.Mode != "" && o.Mode != ModeAlternate && o.Mode != ModeOverlap {
		return field.Errorf("mode", "unknown mode %q (want %s or %s)", o.Mode, ModeAlternate, ModeOverlap)
	}
	return nil
}

// Needs lists the target capabilities the options' faults need, each with what needs it ("--nemesis clock",
// "--kill leader"), in the form targets.RequireCapabilities takes, so the harness refuses a run before it starts.
func (o Options) Needs() map[targets.Capability]string {
	need := map[targets.Capability]string{}
	for _, f := range faults {
		if !slices.Contains(o.Faults, f.Kind()) {
			continue
		}
		always := f.Needs("", "")
		for _, c := range always {
			if _, ok := need[c]; !ok {
				need[c] = "--nemesis " + f.Kind()
			}
		}
		for _, s := range f.Strategies(o) {
			for _, c := range f.Needs("", s) {
				if _, ok := need[c]; !ok && !slices.Contains(always, c) {
					need[c] = "--" + f.Kind() + " " + s
				}
			}
		}
	}
	return need
}

// WithLeader adds the leader strategy to each enabled kind (partition, kill, pause) whose strategies are that kind's
// defaults, for a target that can name its leader: the faults that aim at the leader are the ones that expose
// most leader bugs (an early acknowledgement, a stale lease). Strategies the user named are left as they are.
func (o Options) WithLeader() Options {
	for _, f := range faults {
		o = f.WithLeader(o)
	}
	return o
}
