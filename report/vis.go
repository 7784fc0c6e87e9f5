package report

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/skeptic-dev/skeptic/checker"
	"github.com/skeptic-dev/skeptic/workloads"
)

// faultColors are the fault kinds' colours, the same in the plots, the timeline and the visualizations.
var faultColors = map[string]string{
	"partition": "#f4a261", "kill": "#e76f51", "pause": "#9c89b8", "clock": "#2a9d8f", "loss": "#e9c46a", "delay": "#8ab17d",
}

func faultColor(kind string) string {
	if c, ok := faultColors[kind]; ok {
		return c
	}
	return "#bbbbbb"
}

// visualize writes the Porcupine visualization of a failed key to dir/<safe key>.html, with every fault
// interval of the key's lifetime drawn on it as an annotation and the stuck operation marked. A key with more than maxOps operations
// is cut to a window around the stuck operation: the window's operations are checked again, verbosely, from
// the state the longest partial linearization leaves at the window's start, and the cut is used only when that
// check also finds the window not linearizable. It returns the file name and, when cut, a note saying how.
func visualize(dir, key string, ops []keyOp, info porcupine.LinearizationInfo, bad keyOp, order []int64, faults []Fault, maxOps int) (name, note string, err error) {
	defer func() {
		// Porcupine panics on a model that does not replay its own linearizations; that is a bug here, but the
		// report goes on without this visualization.
		if p := recover(); p != nil {
			name, err = "", fmt.Errorf("report: visualization of %q: porcupine: %v", key, p)
		}
	}()
	base := workloads.RegisterModel()
	if maxOps > 0 && len(ops) > maxOps && bad.op.Call > 0 {
		if winfo, start, n, ok := window(ops, bad, order, maxOps); ok {
			info = winfo
			note = n
			base.Init = func() workloads.RegisterState { return start }
		} else {
			note = fmt.Sprintf("not cut: the %d operations around the anomaly are linearizable on their own, so the whole history of %d operations is shown", maxOps, len(ops))
		}
	}
	// The faults over the key's lifetime (a kv key lives a few seconds of a long run): every one of them, and
	// none from elsewhere in the run, which would only stretch the timeline.
	from, to := int64(math.MaxInt64), int64(math.MinInt64)
	for _, o := range ops {
		from = min(from, o.op.Call)
		if o.op.Return != checker.Infinity {
			to = max(to, o.op.Return)
		}
		to = max(to, o.op.Call)
	}
	var anns []porcupine.Annotation
	for _, f := range faults {
		if f.End < from || f.Start > to {
			continue
		}
		anns = append(anns, porcupine.Annotation{
			Tag: "nemesis: " + f.Kind, Start: f.Start, End: f.End, Description: f.What,
			Details: fmt.Sprintf("%s from %s to %s (ended by %s)", f.What, sec(f.Start), sec(f.End), f.Ended), BackgroundColor: faultColor(f.Kind),
		})
	}
	if bad.op.Call > 0 || bad.op.Return > 0 {
		end := bad.op.Return
		if end == checker.Infinity {
			end = bad.op.Call
		}
		anns = append(anns, porcupine.Annotation{
			Tag: "anomaly", Start: bad.op.Call, End: end, Description: "cannot be linearized: " + workloads.DescribeRegisterOp(bad.in, bad.out),
			Details: bad.meta.String(), BackgroundColor: "#ff6b6b", TextColor: "#ffffff",
		})
	}
	info.AddAnnotations(anns)
	name = checker.SafeName(key) + ".html"
	model := base.Porcupine()
	model.DescribeOperationMetadata = func(m interface{}) string {
		if mm, ok := m.(checker.Meta); ok {
			return mm.String()
		}
		return fmt.Sprint(m)
	}
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		return "", note, fmt.Errorf("report: visualization of %q: %w", key, err)
	}
	if err := porcupine.Visualize(model, info, f); err != nil {
		f.Close()
		return "", note, fmt.Errorf("report: visualization of %q: %w", key, err)
	}
	return name, note, f.Close()
}

// window cuts ops to about maxOps operations ending a little after bad, checks them verbosely from the state
// the longest partial linearization (order) had reached before the window's first operation, and returns the
// window's LinearizationInfo if it is still not linearizable.
func window(ops []keyOp, bad keyOp, order []int64, maxOps int) (porcupine.LinearizationInfo, workloads.RegisterState, string, bool) {
	byCall := append([]keyOp(nil), ops...)
	sort.SliceStable(byCall, func(i, j int) bool { return byCall[i].op.Call < byCall[j].op.Call })
	at := 0
	for i, o := range byCall {
		if o.meta.Invoke == bad.meta.Invoke {
			at = i
		}
	}
	after := maxOps / 5
	lo := max(0, at-(maxOps-after))
	hi := min(len(byCall), at+after+1)
	inWin := map[int64]bool{}
	var win []porcupine.Operation
	clients := map[int]int{}
	for _, o := range byCall[lo:hi] {
		inWin[o.meta.Invoke] = true
	}
	// Unknown operations invoked before the window may take effect inside it: keep them.
	for _, o := range byCall[:lo] {
		if o.unknown() {
			inWin[o.meta.Invoke] = true
		}
	}
	for _, o := range byCall {
		if !inWin[o.meta.Invoke] {
			continue
		}
		op := o.op
		c, ok := clients[op.ClientId]
		if !ok {
			c = len(clients)
			clients[op.ClientId] = c
		}
		op.ClientId = c
		win = append(win, op)
	}
	// The state before the window: replay the longest linearization up to its first operation in the window.
	byInvoke := map[int64]keyOp{}
	for _, o := range ops {
		byInvoke[o.meta.Invoke] = o
	}
	m := workloads.RegisterModel()
	state := m.Init()
	for _, id := range order {
		if inWin[id] {
			break
		}
		o := byInvoke[id]
		_, state = m.Step(state, o.in, o.out)
	}
	start := state
	m.Init = func() workloads.RegisterState { return start }
	res, info := porcupine.CheckOperationsVerbose(m.Porcupine(), win, 10*time.Second)
	if res != porcupine.Illegal {
		return info, start, "", false
	}
	from, to := byCall[lo].op.Call, byCall[hi-1].op.Call
	return info, start, fmt.Sprintf("cut to the %d operations invoked from %s to %s (of %d), starting from the value %s that Porcupine's longest linearization of the earlier operations leaves; this window alone is not linearizable",
		len(win), sec(from), sec(to), len(ops), stateWord(start)), true
}
