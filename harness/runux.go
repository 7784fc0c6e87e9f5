package harness

// What a run tells its user while it runs and at its end, beyond the operations: each fault as it starts and ends
// (faultLog), a cluster that vanished under the run (watchCluster), how often the target's flaw acted (flaw acts),
// and notes on a verdict that could mislead (most operations unknown, a flaw that acted unseen).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/skeptic-dev/skeptic/harness/cluster"
	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/nemesis"
	"github.com/skeptic-dev/skeptic/targets"
	"github.com/skeptic-dev/skeptic/targets/httpkv"
)

// FaultRecord is one fault the nemesis applied, as results.json lists it.
type FaultRecord struct {
	// Kind is the fault kind (partition, kill, pause, clock, loss, delay).
	Kind string `json:"kind"`
	// What says what it did: its strategy, its nodes, the leader it aimed at.
	What string `json:"what"`
	// Start and End are history times (since the run's start); End is zero for a fault never ended by an op
	// (the final heal ended it).
	Start Duration `json:"start"`
	End   Duration `json:"end,omitempty"`
	// Error says why the op failed, or was skipped (no leader).
	Error string `json:"error,omitempty"`
}

// runUX is the state of the run's reports to its user.
type runUX struct {
	mu      sync.Mutex
	pending *history.Event // the nemesis op whose planned event was recorded and whose result was not yet
	faults  []FaultRecord
	open    map[string][]int // kind -> indexes into faults of the faults in progress

	unknownWhy map[string]int64 // an info op's error, shortened -> count

	flawActs map[string]uint64
	flawErr  string

	watchStop func()
	lostErr   error
}

// nemesisEvent logs a nemesis event as it is recorded: each op's result on the console and in skeptic.log, with
// its history time, and each fault in r.ux.faults.
func (r *run) nemesisEvent(e history.Event) {
	u := &r.ux
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.open == nil {
		u.open = map[string][]int{}
	}
	// Run and HealAll record each op as two events, the plan then the result, one op at a time.
	if u.pending == nil || u.pending.F != e.F {
		ev := e
		u.pending = &ev
		return
	}
	u.pending = nil
	at := time.Duration(e.Time)
	what := nemesis.Describe(e.F, e.Value)
	kind := nemesis.Kind(e.F)
	var line string
	switch {
	case e.F == nemesis.FHeal:
		line = what
		for k, idx := range u.open {
			for _, i := range idx {
				u.faults[i].End = Duration(at)
			}
			delete(u.open, k)
		}
	case nemesis.Begins(e.F):
		line = "start " + what
		u.faults = append(u.faults, FaultRecord{Kind: kind, What: what, Start: Duration(at), Error: e.Error})
		if e.Error == "" || !strings.Contains(e.Error, nemesis.ErrNoLeader.Error()) {
			u.open[kind] = append(u.open[kind], len(u.faults)-1)
		}
	default:
		line = "end   " + what
		if idx := u.open[kind]; len(idx) > 0 {
			first := u.faults[idx[0]].Start.D()
			for _, i := range idx {
				u.faults[i].End = Duration(at)
			}
			delete(u.open, kind)
			line += fmt.Sprintf(" (after %s)", (at - first).Round(100*time.Millisecond))
		}
	}
	switch {
	case e.Error != "" && strings.Contains(e.Error, nemesis.ErrNoLeader.Error()):
		line += ": skipped, " + e.Error
	case e.Error != "":
		line += ": FAILED: " + e.Error
	}
	r.con.printf("nemesis %8.3fs  %s\n", at.Seconds(), line)
}

// planText says truthfully what the nemesis will do: how many faults of which kinds the schedule holds, where it
// comes from, and which enabled kinds it does not use.
func planText(t Test, s nemesis.Schedule) string {
	count := map[string]int{}
	var order []string
	for _, op := range s {
		if !nemesis.Begins(op.F) {
			continue
		}
		k := nemesis.Kind(op.F)
		if count[k] == 0 {
			order = append(order, k)
		}
		count[k]++
	}
	var parts []string
	for _, k := range order {
		parts = append(parts, fmt.Sprintf("%d %s", count[k], k))
	}
	what := "no faults"
	if len(parts) > 0 {
		what = strings.Join(parts, ", ")
		if len(s) > 0 {
			what += fmt.Sprintf(", the first at %s", firstFault(s))
		}
	}
	var from string
	switch {
	case t.Nemesis.ScheduleFile != "":
		from = "replayed from " + t.Nemesis.ScheduleFile
	case len(t.Nemesis.Faults) == 0:
		from = "replayed from the config"
	default:
		var unused []string
		for _, f := range t.Nemesis.Faults {
			if count[f] == 0 {
				unused = append(unused, f)
			}
		}
		from = "drawn from --nemesis " + strings.Join(t.Nemesis.Faults, ",")
		if len(unused) > 0 {
			from += fmt.Sprintf("; the seed drew no %s this run", strings.Join(unused, ", "))
		}
	}
	return fmt.Sprintf("nemesis: %d ops planned: %s (%s)\n", len(s), what, from)
}

func firstFault(s nemesis.Schedule) time.Duration {
	for _, op := range s {
		if nemesis.Begins(op.F) {
			return op.At.D()
		}
	}
	return 0
}

// clientEvent tallies why client operations ended unknown.
func (r *run) clientEvent(e history.Event) {
	if e.Type != history.Info {
		return
	}
	why := e.Error
	if why == "" {
		why = "no reason given"
	}
	if len(why) > 80 {
		why = why[:77] + "..."
	}
	r.ux.mu.Lock()
	defer r.ux.mu.Unlock()
	if r.ux.unknownWhy == nil {
		r.ux.unknownWhy = map[string]int64{}
	}
	r.ux.unknownWhy[why]++
}

// readFlawActs asks every node for the flaw_acts of its /admin/status (targets that report it), once the final
// reads are done and before the teardown.
func (r *run) readFlawActs(ctx context.Context) {
	if r.clu == nil || !targets.Has(r.target, targets.CapStatus) {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	acts := map[string]uint64{}
	var errs []string
	for _, n := range r.clu.Nodes() {
		st, err := httpkv.Status(ctx, n.ClientURL)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", n.ID, err))
			continue
		}
		raw, ok := st.Extra["flaw_acts"]
		if !ok {
			return // the target does not count its flaw's acts
		}
		var v uint64
		if err := json.Unmarshal(raw, &v); err != nil {
			errs = append(errs, fmt.Sprintf("%s: flaw_acts %s is not a count", n.ID, raw))
			continue
		}
		acts[n.ID] = v
	}
	r.ux.mu.Lock()
	defer r.ux.mu.Unlock()
	r.ux.flawActs = acts
	r.ux.flawErr = strings.Join(errs, "; ")
}

// annotate copies into res what the run's reports found: the faults, the flaw acts, and the notes on the verdict.
func (r *run) annotate(res *Result) {
	u := &r.ux
	u.mu.Lock()
	defer u.mu.Unlock()
	res.Faults = append([]FaultRecord(nil), u.faults...)
	if len(u.flawActs) > 0 {
		res.FlawActs = u.flawActs
	}
	var total, info int64
	for _, c := range res.Counts {
		total += c["ok"] + c["fail"] + c["info"]
		info += c["info"]
	}
	res.Notes = nil
	if total > 0 && 2*info > total {
		res.Notes = append(res.Notes, fmt.Sprintf("%d of %d operations (%.0f%%) ended unknown, so the verdict rests on the other %d; why: %s",
			info, total, 100*float64(info)/float64(total), total-info, topReasons(u.unknownWhy, 3)))
	}
	var acts uint64
	for _, v := range u.flawActs {
		acts += v
	}
	if acts > 0 && res.Verdict == Valid {
		res.Notes = append(res.Notes, fmt.Sprintf("the flaw %s acted %d times, but no client observed an anomaly: try a longer run, "+
			"other faults, or another seed", r.t.Flaw, acts))
	}
}

func topReasons(m map[string]int64, k int) string {
	type rc struct {
		why string
		n   int64
	}
	var l []rc
	for w, n := range m {
		l = append(l, rc{w, n})
	}
	sort.Slice(l, func(i, j int) bool { return l[i].n > l[j].n || l[i].n == l[j].n && l[i].why < l[j].why })
	var parts []string
	for i, x := range l {
		if i == k {
			parts = append(parts, fmt.Sprintf("%d other reasons", len(l)-k))
			break
		}
		parts = append(parts, fmt.Sprintf("%q ×%d", x.why, x.n))
	}
	if len(parts) == 0 {
		return "no reason recorded"
	}
	return strings.Join(parts, ", ")
}

// maxFaultLines bounds the faults the summary lists.
const maxFaultLines = 20

// printRunReport prints the faults that ran and the flaw's acts, for the end-of-run summary.
func printRunReport(out io.Writer, res Result, flaw, flawErr string) {
	if len(res.Faults) > 0 {
		fmt.Fprintf(out, "faults (%d):\n", len(res.Faults))
		for i, f := range res.Faults {
			if i == maxFaultLines {
				fmt.Fprintf(out, "  ... and %d more (all in results.json and skeptic.log)\n", len(res.Faults)-i)
				break
			}
			end := "healed at the end"
			if f.End > 0 {
				end = fmt.Sprintf("to %6.1fs", f.End.D().Seconds())
			}
			line := fmt.Sprintf("  %6.1fs %s  %s", f.Start.D().Seconds(), end, f.What)
			if f.Error != "" {
				line += "  [" + f.Error + "]"
			}
			fmt.Fprintln(out, line)
		}
	}
	var total uint64
	for _, v := range res.FlawActs {
		total += v
	}
	// The correct store's zeros are no news; a flaw's are (it never acted).
	if len(res.FlawActs) > 0 && (total > 0 || (flaw != "" && flaw != "none")) {
		ids := make([]string, 0, len(res.FlawActs))
		for id := range res.FlawActs {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool { return keyLess(ids[i], ids[j]) })
		parts := make([]string, len(ids))
		for i, id := range ids {
			parts[i] = fmt.Sprintf("%s %d", id, res.FlawActs[id])
		}
		fmt.Fprintf(out, "flaw %s acted (counted since each node's last start): %s; %d in all\n", flaw, strings.Join(parts, ", "), total)
	}
	if flawErr != "" {
		fmt.Fprintf(out, "flaw acts: could not ask every node: %s\n", flawErr)
	}
}

// ErrClusterLost is wrapped by the error of a run whose cluster vanished under it.
var ErrClusterLost = errors.New("the cluster is gone")

// watchEvery is how often the watcher asks the runtime whether the nodes still exist; a node must be seen
// stopped (and not by the nemesis) stoppedChecks times in a row to count as stopped, and the engine may fail to
// answer for engineSilence before the cluster counts as lost.
var (
	watchEvery    = time.Second
	stoppedChecks = 3
	engineSilence = 20 * time.Second
)

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
	at := time.Since(r.start).Round(100 * time.Millisecond)
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
