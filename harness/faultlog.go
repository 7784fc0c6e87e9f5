package harness

// Each fault on the console and in skeptic.log as it starts and ends, and the faults that ran in results.json.

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/nemesis"
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
