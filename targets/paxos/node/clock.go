package node

import (
	"fmt"
	"math"
	"sync"
	"time"
)

// Clock is the node's only source of time: every time read in the node goes through it, so that /admin/clock can
// skew the node as a whole, the way settimeofday and a drifting oscillator would.
//
// Both readings are piecewise linear in real monotonic time: from the last Set at real instant t0 they advance
// Rate times as fast as real time. Wall jumps by the offset at Set; Mono never jumps (it is continuous, only its
// speed changes), as CLOCK_MONOTONIC is.
type Clock struct {
	mu      sync.Mutex
	start   time.Time // real origin; time.Since(start) is real monotonic time
	t0      time.Duration
	mono0   time.Duration // Mono() at t0
	wall0   int64         // Now().UnixNano() at t0
	offset  int64         // offset_ns given to the last Set
	rate    float64
	changed chan struct{} // closed and replaced at each Set, to wake sleepers
}

// NewClock returns a clock that reads real time (offset 0, rate 1).
func NewClock() *Clock {
	now := time.Now()
	return &Clock{start: now, wall0: now.UnixNano(), rate: 1, changed: make(chan struct{})}
}

// ValidateRate checks an /admin/clock rate: it must be finite, above zero and at most 1000.
func ValidateRate(rate float64) error {
	if math.IsNaN(rate) || math.IsInf(rate, 0) || rate <= 0 {
		return fmt.Errorf("rate must be a finite number above 0, got %v", rate)
	}
	if rate > 1000 {
		return fmt.Errorf("rate must be at most 1000, got %v", rate)
	}
	return nil
}

// Set makes the wall clock read offsetNs ahead of real time from now on, and both readings advance rate times as
// fast as real time. Set(0, 1) resets the clock.
func (c *Clock) Set(offsetNs int64, rate float64) error {
	if err := ValidateRate(rate); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	t := now.Sub(c.start)
	c.mono0 = c.monoAt(t)
	c.t0 = t
	c.wall0 = now.UnixNano() + offsetNs
	c.offset = offsetNs
	c.rate = rate
	close(c.changed)
	c.changed = make(chan struct{})
	return nil
}

func (c *Clock) monoAt(t time.Duration) time.Duration {
	return c.mono0 + time.Duration(float64(t-c.t0)*c.rate)
}

// Now returns the node's wall clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := time.Since(c.start)
	return time.Unix(0, c.wall0+int64(float64(t-c.t0)*c.rate))
}

// Mono returns the node's monotonic clock: the time since the node started, as the node perceives it.
func (c *Clock) Mono() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.monoAt(time.Since(c.start))
}

// Settings returns the offset and rate of the last Set, and a channel closed at the next Set.
func (c *Clock) Settings() (offsetNs int64, rate float64, changed <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset, c.rate, c.changed
}

// RealUntil returns how long, in real time, until the node's monotonic clock reads mono; 0 if it already has.
func (c *Clock) RealUntil(mono time.Duration) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := mono - c.monoAt(time.Since(c.start))
	if d <= 0 {
		return 0
	}
	return time.Duration(float64(d) / c.rate)
}
