package node

import (
	"fmt"
	"log"
	"sync"
	"time"

	"github.com/skeptic-dev/skeptic/targets/paxos/core"
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

// actLog logs the acts of a core-level flaw, which the core counts in core.Status.FlawActs: at most one line per
// interval, summarising the acts since the previous line and saying what the latest one did. Only the event loop
// calls it.
type actLog struct {
	log      *log.Logger
	flaw     core.Flaw
	interval time.Duration
	logged   uint64    // the FlawActs count the last line reported
	last     time.Time // when that line was written (real time, as for rateLog)
}

// observe logs a line if the core counted acts since the last line and the last line is at least interval old.
// Acts held back by the interval are summarised by the next call that finds the interval passed.
func (a *actLog) observe(st core.Status) {
	if st.FlawActs <= a.logged {
		return
	}
	now := time.Now()
	if now.Sub(a.last) < a.interval {
		return
	}
	d := st.FlawActs - a.logged
	a.logged, a.last = st.FlawActs, now
	times := "once"
	if d > 1 {
		times = fmt.Sprintf("%d times", d)
	}
	a.log.Printf("FLAW %s: acted %s since the last line (%d in all); last: %s", a.flaw, times, st.FlawActs, st.LastFlawAct)
}
