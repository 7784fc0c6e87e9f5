package harness

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"

	"github.com/skeptic-dev/skeptic/history"
)

// counts tallies completed operations as the recorder writes them (a history.Recorder OnRecord hook).
type counts struct {
	ok, fail, info atomic.Int64
}

func (c *counts) observe(e history.Event) {
	if e.Process == history.NemesisProcess {
		return
	}
	switch e.Type {
	case history.Ok:
		c.ok.Add(1)
	case history.Fail:
		c.fail.Add(1)
	case history.Info:
		c.info.Add(1)
	}
}

func (c *counts) total() int64 { return c.ok.Load() + c.fail.Load() + c.info.Load() }

// progress shows how a run is going: elapsed and remaining time, ok/fail/info counts and ops/s. On a terminal it
// redraws one line in place; otherwise (a pipe, a CI log) it prints a plain line every plainEvery.
type progress struct {
	con   *console
	live  bool
	start time.Time
	limit time.Duration
	c     *counts

	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
	phase    atomic.Value // string: "load", "recovery", ...
}

const (
	liveEvery  = 250 * time.Millisecond
	plainEvery = 5 * time.Second
)

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func startProgress(con *console, live bool, start time.Time, limit time.Duration, c *counts) *progress {
	p := &progress{con: con, live: live, start: start, limit: limit, c: c,
		stop: make(chan struct{}), done: make(chan struct{})}
	p.phase.Store("load")
	go p.loop()
	return p
}

func (p *progress) loop() {
	defer close(p.done)
	every := plainEvery
	if p.live {
		every = liveEvery
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	lastLog := time.Now()
	lastN, lastT := int64(0), time.Now()
	rate := 0.0
	for {
		select {
		case <-p.stop:
			if p.live {
				p.con.bar("")
			}
			return
		case now := <-tick.C:
			n := p.c.total()
			if dt := now.Sub(lastT).Seconds(); dt >= 1 || !p.live {
				rate = float64(n-lastN) / dt
				lastN, lastT = n, now
			}
			line := p.line(now, rate)
			if p.live {
				p.con.bar(line)
			} else {
				p.con.printf("%s\n", line)
				lastLog = now
			}
			if p.live && now.Sub(lastLog) >= plainEvery-10*time.Millisecond {
				p.con.logf("%s\n", line)
				lastLog = now
			}
		}
	}
}

func (p *progress) line(now time.Time, rate float64) string {
	el := now.Sub(p.start)
	left := p.limit - el
	if left < 0 {
		left = 0
	}
	return fmt.Sprintf("[%s] %4ds elapsed, %4ds left | ok %d fail %d info %d | %.0f ops/s",
		p.phase.Load(), int(el.Seconds()), int(left.Round(time.Second).Seconds()),
		p.c.ok.Load(), p.c.fail.Load(), p.c.info.Load(), rate)
}

// close stops the display and clears a live line, so the next print starts on a clean line.
func (p *progress) close() {
	p.stopOnce.Do(func() { close(p.stop) })
	<-p.done
}
