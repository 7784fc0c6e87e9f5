package harness

// A run notices a cluster that vanished under it (removed or stopped by someone else) and ends without a verdict.

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/skeptic-dev/skeptic/harness/cluster"
)

// ErrClusterLost is wrapped by the error of a run whose cluster vanished under it.
var ErrClusterLost = errors.New("the cluster is gone")

// watchCluster watches the cluster (a cluster.Presencer) while the run uses it. It returns ctx, cancelled when
// the cluster is lost: a node's container removed, every node stopped and not by the nemesis, or the engine
// silent for engineSilence. A single node stopped by someone else is reported on the console. stop ends the
// watch; it is idempotent.
func (r *run) watchCluster(ctx context.Context) (context.Context, func()) {
	p, ok := r.clu.(cluster.Presencer)
	if !ok {
		return ctx, func() {}
	}
	wctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	quit := make(chan struct{})
	var once sync.Once
	stop := func() {
		once.Do(func() { close(quit) })
		<-done
	}
	go func() {
		defer close(done)
		tick := time.NewTicker(watchEvery)
		defer tick.Stop()
		streak := map[string]int{}
		warned := map[string]bool{}
		var silentSince time.Time
		for {
			select {
			case <-quit:
				return
			case <-wctx.Done():
				return
			case <-tick.C:
			}
			pctx, pcancel := context.WithTimeout(wctx, 5*time.Second)
			m, err := p.Presence(pctx)
			pcancel()
			if err != nil {
				if wctx.Err() != nil {
					return
				}
				if silentSince.IsZero() {
					silentSince = time.Now()
				} else if time.Since(silentSince) > engineSilence {
					r.lose(cancel, fmt.Sprintf("the %s runtime has not answered for %s: %v", r.rt, engineSilence, err))
					return
				}
				continue
			}
			silentSince = time.Time{}
			var down map[string]bool
			if r.nem != nil {
				down = r.nem.Down()
			}
			var gone, stopped []string
			nStopped := 0
			ids := make([]string, 0, len(m))
			for id := range m {
				ids = append(ids, id)
			}
			sort.Slice(ids, func(i, j int) bool { return keyLess(ids[i], ids[j]) })
			seen := map[string]bool{}
			say := func(e error) string { // the cause without the sentinel, once per cause
				msg := strings.TrimSuffix(strings.TrimSuffix(e.Error(), ": "+cluster.ErrNodeGone.Error()), ": "+cluster.ErrNodeStopped.Error())
				if seen[msg] {
					return ""
				}
				seen[msg] = true
				return msg
			}
			for _, id := range ids {
				e := m[id]
				switch {
				case e == nil || down[id]:
					streak[id] = 0
				case errors.Is(e, cluster.ErrNodeGone):
					if msg := say(e); msg != "" {
						gone = append(gone, msg)
					}
				default:
					streak[id]++
					if streak[id] >= stoppedChecks {
						nStopped++
						if msg := say(e); msg != "" {
							stopped = append(stopped, msg)
						}
						if !warned[id] {
							warned[id] = true
							r.con.printf("warning: node %s stopped, and not by the nemesis: %v\n", id, e)
						}
					}
				}
			}
			if len(gone) > 0 {
				r.lose(cancel, strings.Join(gone, "; "))
				return
			}
			if len(m) > 0 && nStopped == len(m) {
				r.lose(cancel, "every node stopped, and not by the nemesis: "+strings.Join(stopped, "; "))
				return
			}
		}
	}()
	r.ux.watchStop = stop
	return wctx, stop
}

// lose records why the cluster is lost and cancels the run's context with it.
func (r *run) lose(cancel context.CancelCauseFunc, why string) {
	at := time.Since(r.start).Round(100 * time.Millisecond) // wall time of the run, start-up included
	err := fmt.Errorf("%w %s into run %s: %s. Something outside this run removed or stopped it "+
		"(skeptic clean --all, docker rm or docker stop, a killed process?); no verdict is given on a cluster that vanished",
		ErrClusterLost, at, r.runID, why)
	r.ux.mu.Lock()
	r.ux.lostErr = err
	r.ux.mu.Unlock()
	r.con.printf("error: %v\n", err)
	cancel(err)
}

// lost returns the run's error when its cluster was lost (nil otherwise), with how many operations had ended
// unknown by then.
func (r *run) lost() error {
	r.ux.mu.Lock()
	err := r.ux.lostErr
	r.ux.mu.Unlock()
	if err == nil {
		return nil
	}
	total, info := r.counts.total(), r.counts.info.Load()
	return &SetupError{Stage: "cluster lost", Err: fmt.Errorf("%w (%d of %d operations ended unknown)", err, info, total)}
}

// watchEvery is how often the watcher asks the runtime whether the nodes still exist; a node must be seen
// stopped (and not by the nemesis) stoppedChecks times in a row to count as stopped, and the engine may fail to
// answer for engineSilence before the cluster counts as lost.
var (
	watchEvery    = time.Second
	stoppedChecks = 3
	engineSilence = 20 * time.Second
)
