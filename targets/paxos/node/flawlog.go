package node

import (
	"log"
	"sync"
	"time"
)

// rateLog writes at most one line per key per interval, and counts what it held back.
type rateLog struct {
	log      *log.Logger
	interval time.Duration
	mu       sync.Mutex
	last     map[string]time.Time
	held     map[string]int
}

func newRateLog(l *log.Logger, interval time.Duration) *rateLog {
	return &rateLog{log: l, interval: interval, last: map[string]time.Time{}, held: map[string]int{}}
}

// printf logs under key, unless a line with the same key was logged within the interval.
func (r *rateLog) printf(key, format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	// Log timestamps are for people reading next to other logs, so they use real time, not the node's Clock.
	now := time.Now()
	if now.Sub(r.last[key]) < r.interval {
		r.held[key]++
		return
	}
	r.last[key] = now
	if n := r.held[key]; n > 0 {
		r.held[key] = 0
		r.log.Printf(format+" (and %d more like it since the last line)", append(args, n)...)
		return
	}
	r.log.Printf(format, args...)
}
