package nemesis

// What kill and pause share: the strategies that choose nodes, and the ops that act on a list of nodes.

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
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
)

// nodesNeeds is Needs of kill and pause, whose begin function is begin.
func nodesNeeds(begin, f, strategy string) []targets.Capability {
	if strategy == NodesLeader && (f == "" || f == begin) {
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

// checkNodes validates a kill, start, pause or resume op; begins says whether it is kill or pause.
func checkNodes(op Op, nodes []string, begins bool) error {
	var v NodesValue
	if err := decodeStrict(op.Value, &v); err != nil {
		return err
	}
	if err := knownNodes("value.nodes", nodes, v.Nodes...); err != nil {
		return err
	}
	if begins && v.Strategy != NodesLeader && len(v.Nodes) == 0 {
		return field.Errorf("value.nodes", "must name at least one node (or strategy must be leader)")
	}
	if begins && v.Strategy == NodesLeader && len(v.Nodes) > 0 {
		return field.Errorf("value.nodes", "must be empty with the leader strategy, which picks the node at run time")
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
	if v.Strategy == NodesLeader && begins {
		leader, err := n.leader(ctx)
		if err != nil {
			return v, true, err
		}
		v.Leader, v.Nodes = leader, []string{leader}
	}
	if len(v.Nodes) == 0 { // start or resume everything the nemesis stopped
		v.Nodes = keys(stopped)
	}
	return v, true, nil
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
