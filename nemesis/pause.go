package nemesis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/skeptic-dev/skeptic/targets"
)

// DefaultPause is --pause when not given; WithLeader adds leader for a target that names its leader.
var DefaultPause = []string{NodesOne, NodesMinority}

// pause freezes node processes (SIGSTOP or the cgroup freezer): pause stops them, resume lets them go on.
type pause struct{ strategyKind }

var pauseFault = &pause{strategyKind{
	kind: FaultPause, field: "pause",
	known:    []string{NodesOne, NodesLeader, NodesMinority},
	defaults: DefaultPause, leader: []string{NodesLeader},
	minNodes: map[string]int{NodesMinority: 3},
	list:     func(o *Options) *[]string { return &o.Pause },
}}

func (*pause) Funcs() (begin, end []string) { return []string{FPause}, []string{FResume} }

func (*pause) Needs(f, strategy string) []targets.Capability { return nodesNeeds(FPause, f, strategy) }

func (*pause) Generate(p Period) Schedule {
	return p.startStop(nodesOps(FPause, FResume, p.Strategy, p.Nodes, p.R))
}

func (*pause) Check(op Op, nodes []string) error { return checkNodes(op, nodes, op.F == FPause) }

func (*pause) Apply(ctx, octx context.Context, n *Nemesis, op Op) (any, error) {
	stopped := n.paused
	if op.F == FPause {
		stopped = n.killed // as before the fault types: a pause without nodes (not a valid op) names the killed
	}
	v, ok, err := n.nodesOf(ctx, op, op.F == FPause, stopped)
	if !ok {
		return nil, err
	}
	if err != nil {
		return v, err
	}
	var errs []error
	for _, node := range v.Nodes {
		// With overlapping faults (ModeOverlap) a node can be killed while paused: a killed node is not paused
		// (its restart runs it anew), and there is nothing to pause in a killed one.
		if (op.F == FResume && !n.paused[node]) || (op.F == FPause && n.killed[node]) {
			continue
		}
		var err error
		if op.F == FPause {
			n.paused[node] = true
			err = n.env.Proc.Pause(octx, node)
		} else if err = n.env.Proc.Resume(octx, node); err == nil {
			delete(n.paused, node)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", op.F, node, err))
		}
	}
	return v, errors.Join(errs...)
}

func (*pause) Describe(f string, value json.RawMessage) (string, bool) {
	if f == FResume {
		return describeNodes(f, f, value, "every node the nemesis paused")
	}
	return describeNodes(f, f, value, "")
}

// resumePaused resumes every node the nemesis paused, for HealAll; n.mu is held.
func (n *Nemesis) resumePaused(ctx context.Context) []error {
	return n.undoEach(ctx, n.paused, "resume", func(ctx context.Context, node string) error {
		return n.env.Proc.Resume(ctx, node)
	})
}
