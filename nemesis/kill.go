package nemesis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/skeptic-dev/skeptic/targets"
)

// DefaultKill is --kill when not given: kills in cycles (KillCycle) of minority (one node or more), majority and
// all; leader and followers join them for a target that names its leader (WithLeader), and followers is then
// drawn for half the faulty periods. one is a minority of one, so it is left out: each cycle's draw is more often
// one of the strategies that expose crash-restart bugs.
var DefaultKill = []string{NodesMinority, NodesMajority, NodesAll}

// KillCycle is the length of one kill and restart in a faulty period of kills: the nodes are killed at its start
// and restarted halfway through, and the next cycle kills a fresh draw of nodes. Crash-restart bugs need restarts
// more than downtime (a node that forgets what it promised forgets it on its restart), and whether one shows can
// hang on which nodes restart together, so a period of kills tries several draws instead of one.
const KillCycle = 2500 * time.Millisecond

// A cycle of the followers strategy lasts two KillCycles and kills in two steps, so that the leader is the last
// to die and the last to come back:
//
//	0                   kill n/2+1 followers (the leader is left with a minority)
//	FollowersAlone      kill the rest, the leader among them
//	FollowersRestart    restart the followers killed first: a majority, none of which heard the leader alone
//	FollowersRejoin     restart the rest, once the first ones had time to elect a leader and fill the log
//
// A leader that answers writes it has not replicated to a majority (an early acknowledgement) answers them while
// it is alone, and they are lost when a majority that never had them chooses other values in their slots. A
// leader killed with its followers up is not enough: its Accepts leave in the step that answers the client, so
// the survivors have the value, and the next leader's phase 1 finds it.
const (
	FollowersAlone   = 500 * time.Millisecond
	FollowersRestart = 750 * time.Millisecond
	FollowersRejoin  = 3750 * time.Millisecond
)

// kill crashes node processes (SIGKILL, data kept): kill stops them, start runs them again.
type kill struct{ strategyKind }

var killFault = &kill{strategyKind{
	kind: FaultKill, field: "kill",
	known:    []string{NodesOne, NodesLeader, NodesMinority, NodesMajority, NodesAll, NodesFollowers},
	defaults: DefaultKill, leader: []string{NodesLeader, NodesFollowers}, favoured: NodesFollowers,
	minNodes: map[string]int{NodesMinority: 3, NodesFollowers: 2},
	list:     func(o *Options) *[]string { return &o.Kill },
}}

func (*kill) Funcs() (begin, end []string) { return []string{FKill}, []string{FStart} }

func (*kill) Needs(f, strategy string) []targets.Capability { return nodesNeeds(FKill, f, strategy) }

// Generate lays out kill and restart cycles of KillCycle (at least one), the first with the period's strategy,
// each later one with a strategy drawn afresh; a followers cycle takes two (see FollowersAlone).
func (*kill) Generate(p Period) Schedule {
	return p.cyclesOf(KillCycle, func(_ int, strategy string) (Schedule, time.Duration) {
		if strategy == NodesFollowers {
			return Schedule{
				{At: 0, F: FKill, Value: mustJSON(NodesValue{Strategy: NodesFollowers})},
				{At: Duration(FollowersAlone), F: FKill, Value: mustJSON(NodesValue{Strategy: NodesAll, Nodes: p.Nodes})},
				{At: Duration(FollowersRestart), F: FStart, Value: mustJSON(NodesValue{Strategy: NodesFollowers})},
				{At: Duration(FollowersRejoin), F: FStart, Value: mustJSON(NodesValue{})},
			}, 2 * KillCycle
		}
		start, stop := nodesOps(FKill, FStart, strategy, p.Nodes, p.R)
		return halfway(start, stop, KillCycle), KillCycle
	})
}

func (*kill) Check(op Op, nodes []string) error { return checkNodes(op, nodes, op.F == FKill) }

func (*kill) Apply(ctx, octx context.Context, n *Nemesis, op Op) (any, error) {
	v, ok, err := n.nodesOf(ctx, op, op.F == FKill, n.killed)
	if !ok {
		return nil, err
	}
	if op.F == FKill && v.Strategy == NodesFollowers {
		n.followers = nil // a start of the followers restarts those of the latest followers kill only
	}
	if err != nil {
		return v, err
	}
	if op.F == FKill {
		// A node the nemesis already killed stays down (the followers strategy's second step kills the rest).
		v.Nodes = slices.DeleteFunc(slices.Clone(v.Nodes), func(node string) bool { return n.killed[node] })
		if v.Strategy == NodesFollowers {
			n.followers = v.Nodes
		}
	}
	var errs []error
	for _, node := range v.Nodes {
		var err error
		if op.F == FKill {
			n.killed[node] = true // before the call: a half-done kill is still undone by HealAll
			n.setDown(node, true)
			if err = n.env.Proc.Kill(octx, node); err == nil {
				delete(n.paused, node) // a killed process is no longer frozen
			}
		} else if err = n.env.Proc.Start(octx, node); err == nil {
			delete(n.killed, node)
			n.setDown(node, false)
			delete(n.paused, node) // a restarted process is not paused
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", op.F, node, err))
		}
	}
	return v, errors.Join(errs...)
}

func (*kill) Describe(f string, value json.RawMessage) (string, bool) {
	if f == FStart {
		// "restart": "start" reads as the start of a fault.
		return describeNodes(f, "restart", value, "every node the nemesis killed")
	}
	return describeNodes(f, f, value, "")
}

// restartKilled starts every node the nemesis killed, for HealAll; n.mu is held.
func (n *Nemesis) restartKilled(ctx context.Context) []error {
	return n.undoEach(ctx, n.killed, "start", func(ctx context.Context, node string) error {
		if err := n.env.Proc.Start(ctx, node); err != nil {
			return err
		}
		n.setDown(node, false)
		return nil
	})
}
