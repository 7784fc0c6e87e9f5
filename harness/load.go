package harness

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/skeptic-dev/skeptic/targets"
	"github.com/skeptic-dev/skeptic/workloads"
)

// genAdapter presents a workload's endless stream as an opSource.
type genAdapter struct{ g workloads.WorkerGen }

// Next returns the stream's next operation; the stream never ends.
func (a genAdapter) Next() (targets.Op, bool) { return a.g.Next(), true }

// Observe passes the outcome back to the workload.
func (a genAdapter) Observe(op targets.Op, out targets.Outcome) { a.g.Observe(op, out) }

// load runs the workers, bound to the nodes round robin, and the nemesis beside them, until the time limit, the
// operation budget, a recording failure, or ctx's end. It returns the highest process number in use, so that
// the final reads take fresh ones.
func (r *run) load(ctx context.Context, wl workloads.Workload, plan *nemesisPlan) error {
	t := r.t
	nodes := r.clu.Nodes()
	if len(nodes) == 0 {
		return setupErr("start cluster", fmt.Errorf("the runtime returned no nodes"))
	}
	pace := newPacer(t.Rate)
	budget := newOpBudget(opLimit(t))
	// The workers also stop by themselves at the time limit (plus one op timeout), whatever happens to the
	// timer below.
	deadline := time.Now().Add(t.TimeLimit.D() + t.OpTimeout.D())
	workers := make([]*worker, t.Concurrency)
	defer func() {
		for _, w := range workers {
			if w != nil {
				w.client.Close()
			}
		}
	}()
	for i := range workers {
		n := nodes[i%len(nodes)]
		cl, err := r.target.NewClient(n)
		if err != nil {
			return setupErr("client for node "+n.ID, err)
		}
		workers[i] = &worker{index: i, concurrency: t.Concurrency, node: n, client: cl,
			gen: genAdapter{wl.Worker(i)}, rec: r.rec, opTimeout: t.OpTimeout.D(), pace: pace, budget: budget,
			deadline: deadline,
			process:  i}
	}

	live := isTerminal(r.con.out)
	if t.Terminal != nil {
		live = *t.Terminal
	}
	r.con.printf("load: %d workers on %d nodes for %s (rate %s, seed %d)\n", t.Concurrency, len(nodes),
		t.TimeLimit.D(), rateText(t.Rate), t.Seed)
	loadStart := time.Now()
	prog := startProgress(r.con, live, loadStart, t.TimeLimit.D(), &r.counts)

	stop := make(chan struct{})
	errc := make(chan error, len(workers)+1)
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					errc <- fmt.Errorf("worker %d panicked: %v\n%s", w.index, p, debug.Stack())
				}
			}()
			if err := w.run(ctx, stop); err != nil {
				errc <- fmt.Errorf("worker %d: %w", w.index, err)
			}
		}()
	}
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()

	nemCtx, nemCancel := context.WithCancel(ctx)
	nemDone := r.startNemesis(nemCtx, plan)

	timer := time.NewTimer(t.TimeLimit.D())
	defer timer.Stop()
	var failure error
	select {
	case <-timer.C:
	case <-ctx.Done():
	case <-allDone:
	case failure = <-errc:
	}
	close(stop)
	nemCancel()
	nemErr := <-nemDone
	<-allDone
	prog.close()
	if failure == nil {
		select {
		case failure = <-errc:
		default:
		}
	}
	el := time.Since(loadStart)
	r.loadRate = float64(r.counts.total()) / el.Seconds()
	r.con.printf("load done after %s: ok %d, fail %d, info %d (%.0f ops/s)\n", el.Round(time.Millisecond),
		r.counts.ok.Load(), r.counts.fail.Load(), r.counts.info.Load(), r.loadRate)
	if nemErr != nil {
		r.con.printf("nemesis: %v\n", nemErr)
	}
	for _, w := range workers {
		r.maxProcess = max(r.maxProcess, w.process)
	}
	if failure != nil {
		return setupErr("load", failure)
	}
	return nil
}

// opLimit is the run's bound on operations: --max-ops, or else a safety bound that a paced run never reaches
// (its rate times the time limit, plus one op a worker) and an unpaced one only past 100,000 ops/s.
func opLimit(t Test) int {
	if t.MaxOps > 0 {
		return t.MaxOps
	}
	secs := t.TimeLimit.D().Seconds()
	if t.Rate > 0 {
		return int(t.Rate*secs) + t.Concurrency + 1
	}
	return int(100000*secs) + t.Concurrency
}

func rateText(rate float64) string {
	if rate <= 0 {
		return "unlimited"
	}
	return fmt.Sprintf("%g ops/s", rate)
}
