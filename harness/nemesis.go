package harness

// The nemesis of a run: its fault schedule (generated or replayed), what the runtime and the target must be able
// to do for it, and the adapters through which it acts on the cluster (the target's clock and leader).

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/skeptic-dev/skeptic/harness/cluster"
	"github.com/skeptic-dev/skeptic/harness/docker"
	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/internal/field"
	"github.com/skeptic-dev/skeptic/nemesis"
	"github.com/skeptic-dev/skeptic/targets"
	"github.com/skeptic-dev/skeptic/targets/httpkv"
)

// nemesisPlan is the fault schedule of a run; nil means no nemesis.
type nemesisPlan struct {
	schedule nemesis.Schedule
	options  nemesis.Options  // the options the schedule was made from, as config.json records them
	nem      *nemesis.Nemesis // set once the cluster runs
}

func (p *nemesisPlan) raw() nemesis.Schedule {
	if p == nil {
		return nil
	}
	return p.schedule
}

// prepareNemesis builds (or loads) the schedule before anything starts, so that config.json records it, and
// refuses (with a *field.Error) a fault that needs a capability the target lacks.
func prepareNemesis(t Test, target targets.Target) (*nemesisPlan, error) {
	if !t.Nemesis.Enabled() {
		return nil, nil
	}
	nodes := t.nodeIDs()
	var (
		s   nemesis.Schedule
		err error
	)
	switch {
	case t.Nemesis.ScheduleFile != "":
		if s, err = nemesis.LoadSchedule(t.Nemesis.ScheduleFile, nodes); err != nil {
			return nil, nemesisError(err) // nemesis.schedule_file
		}
	case len(t.Nemesis.Schedule) > 0:
		// A config.json being re-run: replay its schedule.
		s = t.Nemesis.Schedule
		if err := s.Validate(nodes); err != nil {
			return nil, field.Errorf("nemesis.schedule", "the recorded schedule: %v", err)
		}
	default:
		if targets.Has(target, targets.CapStatus) {
			// The target names its leader: the default strategies aim at it too.
			t.Nemesis.Options = t.Nemesis.Options.WithLeader()
		}
		if s, err = nemesis.Generate(t.Seed, nodes, t.TimeLimit.D(), t.Nemesis.Options); err != nil {
			return nil, nemesisError(err)
		}
	}
	return planFor(t, target, s)
}

// planFor checks that the target can serve schedule s (and, for a generated one, every enabled fault).
func planFor(t Test, target targets.Target, s nemesis.Schedule) (*nemesisPlan, error) {
	if err := targets.RequireCapabilities(target, s.Needs()); err != nil {
		return nil, field.Errorf("nemesis", "%v", err)
	}
	if len(t.Nemesis.Schedule) == 0 && t.Nemesis.ScheduleFile == "" {
		// The enabled faults too, not only the ops a short run happened to draw.
		if err := targets.RequireCapabilities(target, t.Nemesis.Options.Needs()); err != nil {
			return nil, field.Errorf("nemesis", "%v", err)
		}
	}
	return &nemesisPlan{schedule: s, options: t.Nemesis.Options}, nil
}

// preflight refuses, before anything is created, what the chosen runtime cannot do: a --subnet the docker
// runtime cannot use (not /24 or larger, or overlapping an existing network), a --node-binary it cannot run
// (not executable; for docker, not static), and a delay fault on a runtime that cannot delay (docker on a
// kernel without sch_netem). Each is a *field.Error: the user's choice is at fault.
func (r *run) preflight(ctx context.Context, rt cluster.Runtime, plan *nemesisPlan) error {
	t := r.t
	if t.Subnet != "" {
		if c, ok := rt.(interface {
			CheckSubnet(context.Context, string) error
		}); ok {
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := c.CheckSubnet(cctx, t.Subnet); err != nil {
				if errors.Is(err, docker.ErrSubnet) {
					return field.Errorf("subnet", "%v", err)
				}
				return setupErr("check --subnet", err)
			}
		} else {
			r.con.printf("--subnet %s: ignored by the %s runtime\n", t.Subnet, rt.Name())
		}
	}
	if t.NodeBinary != "" {
		bin, err := givenNodeBinary(t)
		if err != nil {
			return err
		}
		if c, ok := rt.(interface{ CheckBinary(string) error }); ok {
			if err := c.CheckBinary(bin); err != nil {
				return field.Errorf("node_binary", "%v", err)
			}
		}
	}
	if plan.needsDelay(t) {
		if p, ok := rt.(nemesis.DelayProber); ok {
			if err := p.CanDelay(); err != nil {
				return field.Errorf("nemesis", "the %s runtime cannot apply the delay fault: %v", rt.Name(), err)
			}
		}
	}
	return nil
}

// needsDelay reports whether the run asks for the delay fault: enabled, or in the schedule.
func (p *nemesisPlan) needsDelay(t Test) bool {
	if p == nil {
		return false
	}
	if contains(t.Nemesis.Faults, nemesis.FaultDelay) {
		return true
	}
	for _, op := range p.schedule {
		if op.F == nemesis.FStartDelay {
			return true
		}
	}
	return false
}

// startNemesis runs plan's faults against the cluster until ctx ends or the schedule does, then reports on the
// channel. With no plan it reports nil at once.
func (r *run) startNemesis(ctx context.Context, plan *nemesisPlan) <-chan error {
	ch := make(chan error, 1)
	if plan == nil {
		ch <- nil
		return ch
	}
	r.con.printf("%s", planText(r.t, plan.schedule))
	go func() {
		defer func() {
			if p := recover(); p != nil {
				ch <- fmt.Errorf("nemesis panicked: %v", p)
			}
		}()
		ch <- plan.nem.Run(ctx, plan.schedule)
	}()
	return ch
}

// bindNemesis connects plan to the running cluster, and checks that the runtime can apply every fault of the
// schedule (a *field.Error when it cannot).
func (r *run) bindNemesis(plan *nemesisPlan) error {
	if plan == nil {
		return nil
	}
	if err := plan.schedule.Preflight(r.clu.Net()); err != nil {
		return field.Errorf("nemesis", "runtime %s: %v", r.rt, err)
	}
	nodes := r.clu.Nodes()
	plan.nem = nemesis.New(nemesis.Env{
		Net: r.clu.Net(), Proc: r.clu.Proc(), Clock: httpClock{nodes}, Cluster: r.statusCluster(),
		Record: func(e history.Event) error {
			e.Process = history.NemesisProcess
			_, err := r.rec.Record(e)
			return err
		},
	})
	r.nem = plan.nem
	return nil
}

// healAll undoes every fault the nemesis made (network, paused and killed nodes, clocks); without a nemesis
// there is nothing to undo.
func (r *run) healAll(ctx context.Context) {
	if r.nem == nil {
		return
	}
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
	defer cancel()
	t0 := time.Now()
	if err := r.nem.HealAll(hctx); err != nil {
		r.healErr = err.Error()
		r.con.printf("heal: %v\n", err)
		return
	}
	r.healed, r.healErr = true, ""
	r.con.printf("healed every fault in %s\n", time.Since(t0).Round(time.Millisecond))
}

// httpClock is the nemesis's Clock through the target's /admin/clock (PROTOCOL.md).
type httpClock struct{ nodes []targets.Node }

// SetClock posts the offset and rate to the node's /admin/clock.
func (c httpClock) SetClock(ctx context.Context, node string, offset time.Duration, rate float64) error {
	for _, n := range c.nodes {
		if n.ID == node {
			return httpkv.SetClock(ctx, n.ClientURL, offset, rate)
		}
	}
	return fmt.Errorf("no node %q", node)
}

// statusCluster is the nemesis's Cluster: the node ids, and the leader a majority of the nodes name (through
// the target's status: /admin/status, or etcd's member status).
type statusCluster struct {
	nodes  []targets.Node
	leader leaderOf
}

func (r *run) statusCluster() statusCluster {
	sc := statusCluster{nodes: r.clu.Nodes()}
	sc.leader, _ = any(r.target).(leaderOf)
	return sc
}

// Nodes returns the node ids in order.
func (c statusCluster) Nodes() []string {
	ids := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		ids[i] = n.ID
	}
	return ids
}

// Leader asks every node at once and returns the leader a majority names.
func (c statusCluster) Leader(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var (
		mu    sync.Mutex
		votes = map[string]int{}
		errs  []error
		wg    sync.WaitGroup
	)
	for _, n := range c.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if c.leader == nil {
				return
			}
			l, err := c.leader.Leader(ctx, n)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", n.ID, err))
				return
			}
			if l != "" {
				votes[l]++
			}
		}()
	}
	wg.Wait()
	for l, v := range votes {
		if 2*v > len(c.nodes) {
			return l, nil
		}
	}
	return "", fmt.Errorf("no majority of %d nodes names one leader (votes %v): %w", len(c.nodes), votes, errors.Join(errs...))
}
