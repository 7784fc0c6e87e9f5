package nemesis

import (
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/skeptic-dev/skeptic/internal/field"
)

// strategyKind is the part of a Fault that a kind with strategies (partition, kill, pause, clock) shares: its
// list of strategies in Options, their defaults, validation and the leader strategy WithLeader adds.
type strategyKind struct {
	kind string
	// field is the list's JSON name in Options ("partition").
	field string
	// known lists the strategies in canonical order; defaults are those of an enabled kind with none named.
	known, defaults []string
	// leader lists the strategies WithLeader adds (none for a kind without).
	leader []string
	// favoured, when enabled, is drawn for half of the kind's faulty periods (draw): the leader-aimed strategy of
	// a kind whose leader faults expose most leader bugs ("" for none).
	favoured string
	// minNodes is the smallest cluster each strategy can act on, when more than one node.
	minNodes map[string]int
	// list points at the kind's list in o.
	list func(o *Options) *[]string
}

func (s *strategyKind) Kind() string { return s.kind }

func (s *strategyKind) Strategies(o Options) []string { return canonical(*s.list(&o), s.known) }

func (s *strategyKind) Defaults(o Options, enabled bool) Options {
	p := s.list(&o)
	switch {
	case !enabled:
		*p = nil
	case len(*p) == 0:
		*p = slices.Clone(s.defaults)
	}
	return o
}

func (s *strategyKind) WithLeader(o Options) Options {
	p := s.list(&o)
	if len(s.leader) > 0 && len(*p) > 0 && slices.Equal(*p, s.defaults) {
		*p = append(slices.Clone(*p), s.leader...)
	}
	return o
}

// draw draws the strategy of a faulty period from strategies (the enabled ones): the favoured strategy half the
// time when it is enabled (a coin drawn only then), else one of them uniformly. A lease on the wall clock breaks
// only when the leader's own clock jumps and that leader is then cut off, and an early acknowledgement only when
// the leader changes: random subsets and grudges do either now and then, the leader-aimed strategies every time.
func (s *strategyKind) draw(strategies []string, r *rand.Rand) string {
	if s.favoured != "" && slices.Contains(strategies, s.favoured) && r.IntN(2) == 0 {
		return s.favoured
	}
	return strategies[r.IntN(len(strategies))]
}

func (s *strategyKind) Validate(o Options, nodes int) error {
	v := *s.list(&o)
	for _, x := range v {
		if !slices.Contains(s.known, x) {
			return field.Errorf(s.field, "unknown strategy %q (want %s)", x, strings.Join(s.known, ", "))
		}
	}
	if slices.Contains(o.Faults, s.kind) && len(v) == 0 {
		return field.Errorf(s.field, "no strategy for the enabled fault %s (want some of %s)", s.kind,
			strings.Join(s.known, ", "))
	}
	if nodes > 0 {
		for _, x := range v {
			if min := s.minNodes[x]; nodes < min {
				return field.Errorf(s.field, "%s needs at least %d nodes, the cluster has %d", x, min, nodes)
			}
		}
	}
	return nil
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
