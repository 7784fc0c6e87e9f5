package harness

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/targets"
)

// opSource is one worker's stream of operations: a workload's per-worker generator. Next returns the next
// operation, or false when the generator has nothing more to give; Observe tells it how each one ended (a kv
// workload uses it to know what a key holds).
type opSource interface {
	Next() (targets.Op, bool)
	Observe(op targets.Op, out targets.Outcome)
}

// worker issues operations to one node through its own client, recording each invocation and completion. Its
// process number changes after every info, as in Jepsen: the old operation may still be in flight, and a process
// has at most one operation open at a time.
type worker struct {
	// index is the worker's number, 0..concurrency-1; it also is its first process number.
	index int
	// concurrency is the number of workers: a retired process p continues as p+concurrency.
	concurrency int
	node        targets.Node
	client      targets.Client
	gen         opSource
	rec         *history.Recorder
	opTimeout   time.Duration
	pace        *pacer
	budget      *opBudget
	// deadline, when set, ends the loop by itself: no operation starts after it.
	deadline time.Time

	// process is the current process number.
	process int
}

// errStopped ends a worker's loop normally.
var errStopped = errors.New("stopped")

// run issues operations until stop is closed, ctx ends, the deadline passes, the budget is spent or the
// generator runs dry. Only a
// failure to record (the history file) is returned as an error: every outcome of an operation is recorded.
func (w *worker) run(ctx context.Context, stop <-chan struct{}) error {
	for {
		select {
		case <-stop:
			return nil
		case <-ctx.Done():
			return nil
		default:
		}
		if err := w.pace.wait(ctx, stop); err != nil {
			return nil
		}
		if !w.deadline.IsZero() && time.Now().After(w.deadline) {
			return nil
		}
		if !w.budget.take() {
			return nil
		}
		op, ok := w.gen.Next()
		if !ok {
			return nil
		}
		out, err := w.do(ctx, op)
		if err != nil {
			return err
		}
		w.gen.Observe(op, out)
	}
}

// do records op's invocation, performs it with the op timeout, records its completion and retires the process
// after an info.
func (w *worker) do(ctx context.Context, op targets.Op) (targets.Outcome, error) {
	if _, err := w.rec.Record(invokeEvent(w.process, w.node.ID, op)); err != nil {
		return targets.Outcome{}, err
	}
	octx, cancel := context.WithTimeout(ctx, w.opTimeout)
	out := w.client.Do(octx, op)
	cancel()
	if out.Type != history.Ok && out.Type != history.Fail && out.Type != history.Info {
		// A client that breaks its contract cannot be trusted to have not applied the op.
		out = targets.Outcome{Type: history.Info, Error: fmt.Sprintf("client returned invalid outcome type %q", out.Type)}
	}
	if _, err := w.rec.Record(completionEvent(w.process, w.node.ID, op, out)); err != nil {
		return out, err
	}
	if out.Type == history.Info {
		w.process += w.concurrency
	}
	return out, nil
}

// invokeEvent is the invocation of op by process p on node (history/event.go gives the value encodings).
func invokeEvent(p int, node string, op targets.Op) history.Event {
	e := history.Event{Process: history.Process(p), Type: history.Invoke, F: op.F, Key: op.Key, Node: node}
	switch op.F {
	case targets.FWrite:
		e.Value = history.Int(op.Value)
	case targets.FCAS:
		e.Value = history.Pair(op.From, op.To)
	default:
		e.Value = history.Null()
	}
	return e
}

// completionEvent is how op ended.
func completionEvent(p int, node string, op targets.Op, out targets.Outcome) history.Event {
	e := invokeEvent(p, node, op)
	e.Type = out.Type
	e.Error = out.Error
	switch {
	case op.F == targets.FRead && out.Type == history.Ok:
		e.Value = history.OptInt(out.Value)
	case op.F == targets.FCAS && out.Type == history.Fail && out.Error == history.ErrCASMismatch:
		e.Value = history.OptInt(out.Value)
	}
	return e
}

// pacer spaces operations of all workers together at a fixed total rate. Each caller reserves the next free
// slot and sleeps until it; a slot in the past is not made up for, so a slow cluster is never hit by a burst.
// A nil pacer does not pace.
type pacer struct {
	mu       sync.Mutex
	interval time.Duration
	next     time.Time
}

func newPacer(rate float64) *pacer {
	if rate <= 0 {
		return nil
	}
	return &pacer{interval: time.Duration(float64(time.Second) / rate)}
}

// wait blocks until the caller's slot, and returns an error if ctx ends or stop closes first.
func (p *pacer) wait(ctx context.Context, stop <-chan struct{}) error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	now := time.Now()
	if p.next.Before(now) {
		p.next = now
	}
	at := p.next
	p.next = p.next.Add(p.interval)
	p.mu.Unlock()
	d := time.Until(at)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-stop:
		return errStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

// opBudget bounds the operations of a run (--max-ops). A nil budget is unbounded.
type opBudget struct {
	mu   sync.Mutex
	left int
}

func newOpBudget(n int) *opBudget {
	if n <= 0 {
		return nil
	}
	return &opBudget{left: n}
}

func (b *opBudget) take() bool {
	if b == nil {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.left <= 0 {
		return false
	}
	b.left--
	return true
}
