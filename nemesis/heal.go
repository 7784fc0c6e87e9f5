package nemesis

// Undoing everything at the end of a run (and on error, panic and SIGINT).

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// HealValue is the value of the event HealAll records: what it undid.
type HealValue struct {
	Net         bool     `json:"net"`
	Resumed     []string `json:"resumed,omitempty"`
	Started     []string `json:"started,omitempty"`
	ClocksReset []string `json:"clocks_reset,omitempty"`
}

// HealAll undoes everything the nemesis may have done and stops it for good: it heals the network (always,
// whatever the nemesis believes), resumes every node it paused, starts every node it killed, and resets every
// clock it set (retrying each reset for up to ClockResetWait, while a node it restarted comes up). It is
// idempotent. Every failure is returned (joined), never swallowed; what was healed is recorded as one "heal"
// event pair. Cancel Run's context first: HealAll waits for the op in progress.
func (n *Nemesis) HealAll(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.stopped = true
	var errs []error
	v := HealValue{}
	if n.env.Net != nil {
		v.Net = true
	}
	v.Resumed, v.Started, v.ClocksReset = keys(n.paused), keys(n.killed), keys(n.clocks)
	recErr := n.record(FHeal, v, nil)
	if n.env.Net != nil {
		if err := n.env.Net.Heal(ctx); err != nil {
			errs = append(errs, fmt.Errorf("heal network: %w", err))
		}
	}
	if len(n.paused)+len(n.killed) > 0 && n.env.Proc == nil {
		errs = append(errs, errNo("Proc"))
	}
	for _, node := range keys(n.paused) {
		if n.env.Proc == nil {
			break
		}
		if err := n.env.Proc.Resume(ctx, node); err != nil {
			errs = append(errs, fmt.Errorf("resume %s: %w", node, err))
			continue
		}
		delete(n.paused, node)
	}
	for _, node := range keys(n.killed) {
		if n.env.Proc == nil {
			break
		}
		if err := n.env.Proc.Start(ctx, node); err != nil {
			errs = append(errs, fmt.Errorf("start %s: %w", node, err))
			continue
		}
		delete(n.killed, node)
		n.setDown(node, false)
	}
	// A node just started (by HealAll, or by a start op just before the end) answers its clock endpoint only
	// once its new process listens: each reset is retried for a while before it counts as a failure.
	resetBy := time.Now().Add(ClockResetWait)
	for _, node := range keys(n.clocks) {
		if n.env.Clock == nil {
			errs = append(errs, errNo("Clock"))
			break
		}
		if n.killed[node] {
			continue // its restart failed (reported above): no process to reset; the next HealAll tries again
		}
		if err := n.resetClock(ctx, node, resetBy); err != nil {
			errs = append(errs, fmt.Errorf("reset clock of %s: %w", node, err))
			continue
		}
		delete(n.clocks, node)
	}
	err := errors.Join(errs...)
	if rerr := n.record(FHeal, v, err); rerr != nil && recErr == nil {
		recErr = rerr
	}
	if err != nil {
		err = fmt.Errorf("nemesis: heal all: %w", err)
	}
	return errors.Join(err, recErr)
}

// ClockResetWait bounds how long HealAll retries the reset of a node's clock (a node it has just restarted does
// not listen yet).
var ClockResetWait = 15 * time.Second

// resetClock sets node's clock back to real time, retrying until it works, until the deadline, or until ctx ends.
func (n *Nemesis) resetClock(ctx context.Context, node string, deadline time.Time) error {
	backoff := 20 * time.Millisecond
	for {
		err := n.env.Clock.SetClock(ctx, node, 0, 1)
		if err == nil || ctx.Err() != nil || time.Now().Add(backoff).After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}
