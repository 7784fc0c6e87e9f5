package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/skeptic-dev/skeptic/history"
)

// The files of a run folder that the report reads and links (shared/ARCHITECTURE.md, "Store").
const (
	ConfigFile  = "config.json"
	HistoryFile = "history.jsonl"
	ResultsFile = "results.json"
	LogFile     = "skeptic.log"
	NodesDir    = "nodes"
	// ReportFile is the report itself, and SummaryFile its machine-readable summary (the verdict and the
	// anomalies in plain words), which JUnit reads.
	ReportFile  = "report.html"
	SummaryFile = "report.json"
)

// runConfig is the part of a run's config.json the report shows. It is parsed leniently: the harness owns the
// file's full schema.
type runConfig struct {
	Name        string  `json:"name"`
	Target      string  `json:"target"`
	Flaw        string  `json:"flaw"`
	Read        string  `json:"read"`
	Nodes       int     `json:"nodes"`
	Concurrency int     `json:"concurrency"`
	Rate        float64 `json:"rate"`
	TimeLimit   string  `json:"time_limit"`
	Workload    string  `json:"workload"`
	Seed        int64   `json:"seed"`
	Nemesis     struct {
		Faults       []string `json:"faults"`
		ScheduleFile string   `json:"schedule_file"`
		Schedule     []struct {
			F string `json:"f"`
		} `json:"schedule"`
	} `json:"nemesis"`
	Runtime     string            `json:"runtime"`
	RuntimeUsed string            `json:"runtime_used"`
	Versions    map[string]string `json:"versions"`
}

// readConfig reads dir/config.json; a run folder without one (a history checked offline) gives the zero config.
func readConfig(dir string) (runConfig, bool, error) {
	var c runConfig
	path := filepath.Join(dir, ConfigFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("report: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, false, fmt.Errorf("report: %s is not a skeptic config.json: %v", path, err)
	}
	return c, true, nil
}

// faultNames returns the faults of the config, for the header: the kinds asked for, or "replayed schedule".
func (c runConfig) faultNames() string {
	switch {
	case len(c.Nemesis.Faults) > 0:
		return strings.Join(c.Nemesis.Faults, ", ")
	case c.Nemesis.ScheduleFile != "":
		return "replayed from " + c.Nemesis.ScheduleFile
	case len(c.Nemesis.Schedule) > 0:
		return "replayed schedule"
	}
	return "none"
}

// Fault is one fault interval: what the nemesis did, to which nodes, from when to when (ns on the history's
// clock). Windows come from the nemesis's start/stop event pairs; a fault never stopped explicitly ends at the
// heal, or at the end of the history.
type Fault struct {
	// Kind is partition, kill, pause, clock, loss or delay.
	Kind string `json:"kind"`
	// Start and End bound the fault: from the event that began it to the event that ended its undo.
	Start int64 `json:"start"`
	End   int64 `json:"end"`
	// Nodes are the nodes it touched.
	Nodes []string `json:"nodes"`
	// What says what was done, in words ("n1 cannot reach n3").
	What string `json:"what"`
	// Ended says how it ended: the stop function, "heal", or "end of history".
	Ended string `json:"ended"`
}

// Step is one nemesis operation for the timeline: the first of its two events gives the time, the second the
// result (which nodes, which leader) and any error.
type Step struct {
	Time  int64  `json:"time"`
	Done  int64  `json:"done"`
	F     string `json:"f"`
	What  string `json:"what"`
	Error string `json:"error,omitempty"`
}

// nemesis values, as nemesis/schedule.go writes them; only the fields the report shows.
type nemValue struct {
	Strategy  string              `json:"strategy"`
	Grudge    map[string][]string `json:"grudge"`
	Leader    string              `json:"leader"`
	Nodes     []string            `json:"nodes"`
	OffsetsNS map[string]int64    `json:"offsets_ns"`
	Rates     map[string]float64  `json:"rates"`
	Deltas    map[string]any      `json:"deltas"`
	Percent   float64             `json:"percent"`
	Delay     any                 `json:"delay"`
	Jitter    any                 `json:"jitter"`
	Net       bool                `json:"net"`
	Resumed   []string            `json:"resumed"`
	Started   []string            `json:"started"`
	Reset     []string            `json:"clocks_reset"`
}

// opens and closes map each nemesis function to the fault kind it starts or ends.
var (
	opens = map[string]string{"start-partition": "partition", "kill": "kill", "pause": "pause",
		"clock-bump": "clock", "clock-strobe": "clock", "clock-skew": "clock", "start-loss": "loss", "start-delay": "delay"}
	closes = map[string]string{"stop-partition": "partition", "start": "kill", "resume": "pause",
		"clock-reset": "clock", "stop-loss": "loss", "stop-delay": "delay"}
)

// ClockSample is a node's clock offset from a recorded clock event.
type ClockSample struct {
	Time   int64
	Node   string
	Offset int64 // ns
}

// nemesisTimeline pairs the nemesis events into steps and fault windows. The nemesis records each op as two
// info events with the same f: the plan before it acts, the result after (nemesis/run.go).
func nemesisTimeline(events []history.Event, end int64) ([]Step, []Fault, []ClockSample) {
	var nem []history.Event
	for _, e := range events {
		if e.Process == history.NemesisProcess {
			nem = append(nem, e)
		}
	}
	var steps []Step
	for i := 0; i < len(nem); i++ {
		plan := nem[i]
		s := Step{Time: plan.Time, Done: plan.Time, F: plan.F}
		res := plan
		if i+1 < len(nem) && nem[i+1].F == plan.F {
			res = nem[i+1]
			s.Done = res.Time
			i++
		}
		s.Error = res.Error
		s.What = describeNemesis(res.F, res.Value)
		if s.What == "" {
			s.What = describeNemesis(plan.F, plan.Value)
		}
		if s.What == "" {
			s.What = plan.F
		}
		steps = append(steps, s)
	}

	var faults []Fault
	open := map[string][]int{} // kind -> indexes of open faults
	closeKind := func(kind string, at int64, how string, nodes []string) {
		var keep []int
		for _, i := range open[kind] {
			if len(nodes) == 0 || overlaps(faults[i].Nodes, nodes) {
				faults[i].End, faults[i].Ended = at, how
			} else {
				keep = append(keep, i)
			}
		}
		open[kind] = keep
	}
	var clocks []ClockSample
	for _, s := range steps {
		var v nemValue
		_ = json.Unmarshal(valueOf(nem, s), &v)
		if kind, ok := opens[s.F]; ok {
			faults = append(faults, Fault{Kind: kind, Start: s.Time, End: end, Nodes: nodesOf(s.F, v), What: s.What, Ended: "end of history"})
			open[kind] = append(open[kind], len(faults)-1)
		}
		if kind, ok := closes[s.F]; ok {
			nodes := v.Nodes
			if kind == "clock" || kind == "partition" || kind == "loss" || kind == "delay" {
				nodes = nil
			}
			closeKind(kind, s.Done, s.F, nodes)
		}
		if s.F == "heal" {
			for _, kind := range []string{"partition", "kill", "pause", "clock", "loss", "delay"} {
				closeKind(kind, s.Done, "heal", nil)
			}
		}
		if strings.HasPrefix(s.F, "clock-") || s.F == "heal" {
			for _, n := range sortedKeys(v.OffsetsNS) {
				clocks = append(clocks, ClockSample{Time: s.Done, Node: n, Offset: v.OffsetsNS[n]})
			}
			for _, n := range v.Reset {
				clocks = append(clocks, ClockSample{Time: s.Done, Node: n})
			}
		}
	}
	return steps, faults, clocks
}

// valueOf returns the value of the result event of step s.
func valueOf(nem []history.Event, s Step) json.RawMessage {
	for _, e := range nem {
		if e.Time == s.Done && e.F == s.F {
			return e.Value
		}
	}
	return nil
}

func overlaps(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

// nodesOf returns the nodes a fault touches.
func nodesOf(f string, v nemValue) []string {
	set := map[string]bool{}
	for a, bs := range v.Grudge {
		set[a] = true
		for _, b := range bs {
			set[b] = true
		}
	}
	for _, n := range v.Nodes {
		set[n] = true
	}
	for n := range v.OffsetsNS {
		set[n] = true
	}
	for n := range v.Rates {
		set[n] = true
	}
	for n := range v.Deltas {
		set[n] = true
	}
	return sortedKeys(set)
}

// describeNemesis says in words what a nemesis event did.
func describeNemesis(f string, raw json.RawMessage) string {
	var v nemValue
	if history.IsNull(raw) || json.Unmarshal(raw, &v) != nil {
		return ""
	}
	strategy := ""
	if v.Strategy != "" {
		strategy = " (" + v.Strategy + ")"
	}
	leader := ""
	if v.Leader != "" {
		leader = ", leader was " + v.Leader
	}
	switch f {
	case "start-partition":
		var cuts []string
		for _, a := range sortedKeys(v.Grudge) {
			bs := append([]string(nil), v.Grudge[a]...)
			sort.Strings(bs)
			cuts = append(cuts, a+" drops "+strings.Join(bs, ","))
		}
		return "partition" + strategy + ": " + strings.Join(cuts, "; ") + leader
	case "kill", "pause", "start", "resume":
		nodes := "every node it stopped"
		if len(v.Nodes) > 0 {
			nodes = strings.Join(v.Nodes, ", ")
		}
		return f + strategy + " " + nodes + leader
	case "clock-bump", "clock-strobe", "clock-skew", "clock-reset":
		var parts []string
		for _, n := range sortedKeys(v.OffsetsNS) {
			p := fmt.Sprintf("%s offset %+.3f s", n, float64(v.OffsetsNS[n])/1e9)
			if r, ok := v.Rates[n]; ok && r != 1 {
				p += fmt.Sprintf(" rate %.3g", r)
			}
			parts = append(parts, p)
		}
		if len(parts) == 0 {
			if len(v.Nodes) > 0 {
				return f + strategy + " " + strings.Join(v.Nodes, ", ")
			}
			return f + strategy
		}
		return f + strategy + ": " + strings.Join(parts, "; ")
	case "start-loss":
		return fmt.Sprintf("loss%s: %.0f%% of packets dropped between nodes", strategy, v.Percent)
	case "start-delay":
		return fmt.Sprintf("delay%s: %v added between nodes, jitter %v", strategy, v.Delay, v.Jitter)
	case "heal":
		var parts []string
		if v.Net {
			parts = append(parts, "network healed")
		}
		if len(v.Resumed) > 0 {
			parts = append(parts, "resumed "+strings.Join(v.Resumed, ", "))
		}
		if len(v.Started) > 0 {
			parts = append(parts, "restarted "+strings.Join(v.Started, ", "))
		}
		if len(v.Reset) > 0 {
			parts = append(parts, "clocks reset on "+strings.Join(v.Reset, ", "))
		}
		return "heal: " + strings.Join(parts, "; ")
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Counts counts completions by outcome.
type Counts struct {
	OK   int64 `json:"ok"`
	Fail int64 `json:"fail"`
	Info int64 `json:"info"`
}

// Total is every completion.
func (c Counts) Total() int64 { return c.OK + c.Fail + c.Info }

// Availability is the fraction of completions that were ok, or -1 when there were none.
func (c Counts) Availability() float64 {
	if c.Total() == 0 {
		return -1
	}
	return float64(c.OK) / float64(c.Total())
}

func (c *Counts) add(t history.Type) {
	switch t {
	case history.Ok:
		c.OK++
	case history.Fail:
		c.Fail++
	case history.Info:
		c.Info++
	}
}

// clientOp is a completed (or never completed) client operation, for the counts and the plots.
type clientOp struct {
	F      string
	Key    string
	Node   string
	Type   history.Type // ok, fail, info; invoke when it never completed
	Invoke int64
	End    int64 // -1 when it never completed
}

// clientOps pairs client invocations with their completions, in completion order; invocations never completed
// come last with End -1. A malformed history is tolerated here: the checker reports it.
func clientOps(events []history.Event) []clientOp {
	open := map[history.Process]history.Event{}
	var out []clientOp
	for _, e := range events {
		if e.Process == history.NemesisProcess {
			continue
		}
		if e.Type == history.Invoke {
			open[e.Process] = e
			continue
		}
		inv, ok := open[e.Process]
		if !ok {
			continue
		}
		delete(open, e.Process)
		out = append(out, clientOp{F: inv.F, Key: inv.Key, Node: inv.Node, Type: e.Type, Invoke: inv.Time, End: e.Time})
	}
	rest := make([]history.Event, 0, len(open))
	for _, e := range open {
		rest = append(rest, e)
	}
	sort.Slice(rest, func(i, j int) bool { return rest[i].Index < rest[j].Index })
	for _, e := range rest {
		out = append(out, clientOp{F: e.F, Key: e.Key, Node: e.Node, Type: history.Invoke, Invoke: e.Time, End: -1})
	}
	return out
}
