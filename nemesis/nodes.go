package nemesis

// What kill and pause share: the strategies that choose nodes, and the ops that act on a list of nodes.

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/skeptic-dev/skeptic/internal/field"
	"github.com/skeptic-dev/skeptic/targets"
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
	// NodesFollowers (kill only) picks n/2+1 nodes other than the one Cluster.Leader names at the time of the
	// fault, leaving the leader with a minority: the nodes after the leader in the ring of sorted node ids. A start
	// of this strategy restarts the nodes that the latest kill of this strategy stopped.
	NodesFollowers = "followers"
)

// nodesNeeds is Needs of kill and pause, whose begin function is begin.
func nodesNeeds(begin, f, strategy string) []targets.Capability {
	if (strategy == NodesLeader || strategy == NodesFollowers) && (f == "" || f == begin) {
		return []targets.Capability{targets.CapStatus}
	}
	return nil
}

// nodesOps draws the nodes of one kill or pause of strategy, and returns the op that stops them (begin) and
// the op that brings back the same nodes (end).
func nodesOps(begin, end, strategy string, nodes []string, r *rand.Rand) (start, stop Op) {
	v := NodesValue{Strategy: strategy, Nodes: pickNodes(strategy, nodes, r)}
	return Op{F: begin, Value: mustJSON(v)}, Op{F: end, Value: mustJSON(NodesValue{Nodes: v.Nodes})}
}

// pickNodes chooses the nodes of a kill or pause; none for the leader and followers strategies, which Run resolves.
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

// checkNodes validates a kill, start, pause or resume op; begins says whether it is kill or pause.
func checkNodes(op Op, nodes []string, begins bool) error {
	var v NodesValue
	if err := decodeStrict(op.Value, &v); err != nil {
		return err
	}
	if err := knownNodes("value.nodes", nodes, v.Nodes...); err != nil {
		return err
	}
	if v.Strategy == NodesFollowers && op.F != FKill && op.F != FStart {
		return field.Errorf("value.strategy", "followers is a strategy of kill and start only")
	}
	atRunTime := v.Strategy == NodesLeader || v.Strategy == NodesFollowers
	if begins && !atRunTime && len(v.Nodes) == 0 {
		return field.Errorf("value.nodes", "must name at least one node (or strategy must be leader or followers)")
	}
	if (begins || v.Strategy == NodesFollowers) && atRunTime && len(v.Nodes) > 0 {
		return field.Errorf("value.nodes", "must be empty with the %s strategy, which picks the nodes at run time", v.Strategy)
	}
	if !begins && v.Strategy != "" && v.Strategy != NodesFollowers {
		return field.Errorf("value.strategy", "must be empty or followers (restart what the latest followers kill stopped), not %q", v.Strategy)
	}
	return nil
}

// nodesOf reads the nodes a kill, start, pause or resume acts on: the leader for a leader strategy of a begin
// op, and for an end op without nodes every node in stopped (which the nemesis killed or paused). ok is false
// when the value does not decode; otherwise v is what the event records, also with err.
func (n *Nemesis) nodesOf(ctx context.Context, op Op, begins bool, stopped map[string]bool) (v NodesValue, ok bool, err error) {
	if err := decodeStrict(op.Value, &v); err != nil {
		return v, false, err
	}
	if n.env.Proc == nil {
		return v, true, errNo("Proc")
	}
	switch {
	case begins && (v.Strategy == NodesLeader || v.Strategy == NodesFollowers):
		leader, err := n.leader(ctx)
		if err != nil {
			return v, true, err
		}
		v.Leader, v.Nodes = leader, []string{leader}
		if v.Strategy == NodesFollowers {
			if v.Nodes = followersOf(leader, n.env.Cluster.Nodes()); v.Nodes == nil {
				return v, true, fmt.Errorf("the cluster named %q as its leader, which is none of its nodes", leader)
			}
		}
	case v.Strategy == NodesFollowers: // restart the latest followers kill's nodes that are still down
		v.Nodes = slices.DeleteFunc(slices.Clone(n.followers), func(node string) bool { return !stopped[node] })
	case len(v.Nodes) == 0: // start or resume everything the nemesis stopped
		v.Nodes = keys(stopped)
	}
	return v, true, nil
}

// followersOf returns the n/2+1 nodes after leader in the ring of nodes (sorted), for the followers strategy, or
// nil when leader is none of nodes.
func followersOf(leader string, nodes []string) []string {
	ring := sorted(nodes)
	i := slices.Index(ring, leader)
	if i < 0 {
		return nil
	}
	ring = append(ring[i+1:], ring[:i]...)
	return sorted(ring[:min(len(nodes)/2+1, len(ring))])
}

// describeNodes is Describe of kill, start, pause and resume; all names the nodes of an end op without nodes.
func describeNodes(f, name string, value json.RawMessage, all string) (string, bool) {
	var v NodesValue
	if value != nil && json.Unmarshal(value, &v) != nil {
		return "", false
	}
	s := name + strategyText(v.Strategy, v.Leader)
	switch {
	case len(v.Nodes) > 0:
		s += ": " + strings.Join(v.Nodes, " ")
	case all != "":
		s += ": " + all
	}
	return s, true
}

// undoEach undoes a kill or pause of each node in set, in order, for HealAll: undo is called for each, and a node
// it undid leaves set; one it could not stays there, with its error (verb names the undo). Without a Proc there is
// nothing to call. n.mu is held.
func (n *Nemesis) undoEach(ctx context.Context, set map[string]bool, verb string, undo func(context.Context, string) error) []error {
	if n.env.Proc == nil {
		return nil
	}
	var errs []error
	for _, node := range keys(set) {
		if err := undo(ctx, node); err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", verb, node, err))
			continue
		}
		delete(set, node)
	}
	return errs
}
