package nemesis

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/skeptic-dev/skeptic/internal/field"
	"github.com/skeptic-dev/skeptic/targets"
)

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

// DefaultPartition is --partition when not given; it leaves out leader, which needs the target's status
// capability (WithLeader adds it for a target that has it).
var DefaultPartition = []string{PartOne, PartMajority, PartMajoritiesRing, PartBridge, PartOneWay}

// partition cuts the network between nodes by a grudge (grudge.go): start-partition applies one, stop-partition
// removes it.
type partition struct{ strategyKind }

var partitionFault = &partition{strategyKind{
	kind: FaultPartition, field: "partition",
	known:    []string{PartOne, PartMajority, PartMajoritiesRing, PartBridge, PartLeader, PartOneWay},
	defaults: DefaultPartition, leader: []string{PartLeader}, favoured: PartLeader,
	minNodes: map[string]int{PartOne: 2, PartMajority: 2, PartMajoritiesRing: 3, PartBridge: 3, PartLeader: 2, PartOneWay: 2},
	list:     func(o *Options) *[]string { return &o.Partition },
}}

func (*partition) Funcs() (begin, end []string) {
	return []string{FStartPartition}, []string{FStopPartition}
}

func (*partition) Needs(f, strategy string) []targets.Capability {
	if strategy == PartLeader && (f == "" || f == FStartPartition) {
		return []targets.Capability{targets.CapStatus}
	}
	return nil
}

// PartitionCycle is the length of one partition and heal in a faulty period of partitions (alternate mode): the
// grudge starts at its start and heals PartitionCut later, and the next cycle draws a fresh grudge. Leader bugs
// show at a leader change, and the change that exposes them most is the heal: a node cut off for a few seconds has
// run up its ballot in failed elections, and on its return it deposes a busy leader whose latest slots a majority
// accepted but does not yet know chosen. One partition per period gave one such heal; cycles give several. The cut
// lasts long enough for a few failed elections (an election timeout is 0.3 to 0.6 s in the Paxos store); the
// heal, for the deposition and the new leader's first slots, and no longer: the next cut falls while the leader
// that just took over is busy. A cycle starts while its cut fits in the period, so a period of 10 s has three,
// cut at 0, 3.75 and 7.5 s (the last healed as the period ends). Against naive-tickets, on seeds 1000 to 1009 side
// by side, two such cycles a period found 10 of 10 (median 17.6 s), where cycles of 5 s healed halfway found 9 of
// 10 (median 36.1 s); the third cut adds to the heals at which a stale node takes over.
const (
	PartitionCycle = 3750 * time.Millisecond
	PartitionCut   = 2500 * time.Millisecond
)

// Generate lays out a faulty period of partitions. In alternate mode it is cycles of PartitionCycle; with the
// leader strategy enabled, every other cycle, starting with the first, isolates the leader (the heal that follows
// is the leader change leader bugs need, which a random grudge gives only now and then), and the others are fresh
// draws. In overlap mode, where faults combine, a partition holds for its whole period: a flaw that needs the
// leader cut off while its clock is off (wallclock-lease) needs the cut to outlast a client's timed-out write
// before the client reads from the old leader again.
func (*partition) Generate(p Period) Schedule {
	if p.Options.Mode == ModeOverlap {
		return p.startStop(partitionOps(p.Strategy, p.Nodes, p.R))
	}
	leader := slices.Contains(p.Strategies, PartLeader)
	return p.cyclesOf(PartitionCut, func(i int, strategy string) (Schedule, time.Duration) {
		if leader && i%2 == 0 {
			strategy = PartLeader
		}
		start, stop := partitionOps(strategy, p.Nodes, p.R)
		return Schedule{start, {At: Duration(PartitionCut), F: stop.F, Value: stop.Value}}, PartitionCycle
	})
}

// partitionOps makes a partition's start op for strategy, drawing its grudge from r, and its stop op.
func partitionOps(strategy string, nodes []string, r *rand.Rand) (start, stop Op) {
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
}

func (*partition) Check(op Op, nodes []string) error {
	if op.F == FStopPartition {
		return checkNull(op)
	}
	var v PartitionValue
	if err := decodeStrict(op.Value, &v); err != nil {
		return err
	}
	if v.Strategy != "" && !slices.Contains(partitionFault.known, v.Strategy) {
		return field.Errorf("value.strategy", "unknown %q", v.Strategy)
	}
	if v.Strategy == PartLeader {
		if len(v.Grudge) > 0 {
			return field.Errorf("value.grudge", "must be empty with the leader strategy, which picks it at run time")
		}
		return nil
	}
	for a, bs := range v.Grudge {
		if err := knownNodes("value.grudge", nodes, a); err != nil {
			return err
		}
		if err := knownNodes("value.grudge["+a+"]", nodes, bs...); err != nil {
			return err
		}
	}
	return nil
}

func (*partition) Apply(ctx, octx context.Context, n *Nemesis, op Op) (any, error) {
	if op.F == FStopPartition {
		if n.env.Net == nil {
			return nil, errNo("Net")
		}
		return nil, n.env.Net.Partition(octx, Grudge{})
	}
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
	return v, n.env.Net.Partition(octx, v.Grudge)
}

func (*partition) Describe(f string, value json.RawMessage) (string, bool) {
	if f == FStopPartition {
		return "partition healed", true
	}
	var v PartitionValue
	if json.Unmarshal(value, &v) != nil {
		return "", false
	}
	s := "partition" + strategyText(v.Strategy, v.Leader)
	if len(v.Grudge) > 0 {
		s += ": " + GrudgeText(v.Grudge)
	}
	return s, true
}
