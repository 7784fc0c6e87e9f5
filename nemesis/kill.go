package nemesis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/skeptic-dev/skeptic/targets"
)

// DefaultKill is --kill when not given: kills in cycles (KillCycle) of minority (one node or more), majority and
// all; leader joins them for a target that names its leader (WithLeader). one is a minority of one, so it is
// left out: each cycle's draw is more often one of the strategies that expose crash-restart bugs.
var DefaultKill = []string{NodesMinority, NodesMajority, NodesAll}

// KillCycle is the length of one kill and restart in a faulty period of kills: the nodes are killed at its start
// and restarted halfway through, and the next cycle kills a fresh draw of nodes. Crash-restart bugs need restarts
// more than downtime (a node that forgets what it promised forgets it on its restart), and whether one shows can
// hang on which nodes restart together, so a period of kills tries several draws instead of one.
const KillCycle = 2500 * time.Millisecond

// kill crashes node processes (SIGKILL, data kept): kill stops them, start runs them again.
type kill struct{ strategyKind }

var killFault = &kill{strategyKind{
	kind: FaultKill, field: "kill",
	known:    []string{NodesOne, NodesLeader, NodesMinority, NodesMajority, NodesAll},
	defaults: DefaultKill, leader: NodesLeader,
	minNodes: map[string]int{NodesMinority: 3},
	list:     func(o *Options) *[]string { return &o.Kill },
}}

func (*kill) Funcs() (begin, end []string) { return []string{FKill}, []string{FStart} }

func (*kill) Needs(f, strategy string) []targets.Capability { return nodesNeeds(FKill, f, strategy) }

// Generate lays out kill and restart cycles of KillCycle (at least one), the first with the period's strategy,
// each later one with a strategy drawn afresh.
func (*kill) Generate(p Period) Schedule {
	return p.cycles(KillCycle, func(_ int, strategy string) (start, stop Op) {
		return nodesOps(FKill, FStart, strategy, p.Nodes, p.R)
	})
}

func (*kill) Check(op Op, nodes []string) error { return checkNodes(op, nodes, op.F == FKill) }

func (*kill) Apply(ctx, octx context.Context, n *Nemesis, op Op) (any, error) {
	v, ok, err := n.nodesOf(ctx, op, op.F == FKill, n.killed)
	if !ok {
		return nil, err
	}
	if err != nil {
		return v, err
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
