package harness

// Notes on a verdict that could mislead: most operations unknown, a flaw that acted and no client saw it.

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/targets"
	"github.com/skeptic-dev/skeptic/targets/httpkv"
)

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
