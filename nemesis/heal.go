package nemesis

// Undoing everything at the end of a run (and on error, panic and SIGINT).

import (
	"context"
	"errors"
	"fmt"
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
	// The network is healed as a whole, not by kind: Net.Heal removes the rules of partition, loss and delay.
	if n.env.Net != nil {
		if err := n.env.Net.Heal(ctx); err != nil {
			errs = append(errs, fmt.Errorf("heal network: %w", err))
		}
	}
	if len(n.paused)+len(n.killed) > 0 && n.env.Proc == nil {
		errs = append(errs, errNo("Proc"))
	}
	errs = append(errs, n.resumePaused(ctx)...)  // pause.go
	errs = append(errs, n.restartKilled(ctx)...) // kill.go
	errs = append(errs, n.resetClocks(ctx)...)   // clock.go
	err := errors.Join(errs...)
	if rerr := n.record(FHeal, v, err); rerr != nil && recErr == nil {
		recErr = rerr
	}
	if err != nil {
		err = fmt.Errorf("nemesis: heal all: %w", err)
	}
	return errors.Join(err, recErr)
}
