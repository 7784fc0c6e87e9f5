package harness

// This file is the detection matrix: every flaw of a target (and its correct build) under every fault, N runs
// each, with distinct seeds, so that the harness's power to catch bugs, and its false positives, are numbers.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/skeptic-dev/skeptic/checker"
	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/internal/field"
	"github.com/skeptic-dev/skeptic/nemesis"
)

// MatrixConfig says which cells to run.
type MatrixConfig struct {
	// Base is the test every run starts from (target, nodes, time limit, runtime, store, ...); its Flaw and
	// nemesis are replaced per cell, and its Seed is the first seed: run i of a cell uses Seed+i.
	Base Test
	// Flaws are the target's flaws to try; "none" is the correct build. Empty means every value of the
	// target's "flaw" option (only "none" for a target without one).
	Flaws []string
	// Faults are the --nemesis values to try, each with its default strategies ("none" for no fault).
	Faults []string
	// Cells, when set, are the only cells to run, each a flaw and a fault (instead of every flaw under every
	// fault).
	Cells [][2]string
	// Runs is the number of runs of each flawed cell, CorrectRuns of each cell of the correct build.
	Runs, CorrectRuns int
	// Out receives a line per run as it ends; nil means none.
	Out io.Writer
	// Dir is where matrix.json and matrix.md are written.
	Dir string
}

// MatrixRun is one run of a cell.
type MatrixRun struct {
	Seed    int64   `json:"seed"`
	Verdict Verdict `json:"verdict"`
	// Detection is the history time at which the recorded history first held a violation: the end of the
	// last operation of the earliest-completed invalid key. A checker watching the history could not have
	// proven the anomaly before then. Zero unless the verdict is invalid.
	Detection Duration `json:"detection,omitempty"`
	// Found is the history time at which the online check proved a key invalid while the run went on (with
	// --fail-fast, when it stopped the run); zero when only the final check found the violation.
	Found Duration `json:"found,omitempty"`
	Dir   string   `json:"dir,omitempty"`
	Error string   `json:"error,omitempty"`
	// Command re-runs this run alone.
	Command string `json:"command"`
}

// MatrixCell is one flaw under one fault.
type MatrixCell struct {
	Flaw     string      `json:"flaw"`
	Fault    string      `json:"fault"`
	Runs     []MatrixRun `json:"runs"`
	Detected int         `json:"detected"`
	// Errors counts runs that ended in an error rather than a verdict; they are not counted as detections.
	Errors          int      `json:"errors"`
	MedianDetection Duration `json:"median_detection,omitempty"`
	MaxDetection    Duration `json:"max_detection,omitempty"`
}

// Rate is the fraction of runs that found the flaw (for the correct build: false positives).
func (c MatrixCell) Rate() float64 {
	if len(c.Runs) == 0 {
		return 0
	}
	return float64(c.Detected) / float64(len(c.Runs))
}

// Matrix is the result of RunMatrix.
type Matrix struct {
	Target    string    `json:"target"`
	Date      time.Time `json:"date"`
	TimeLimit Duration  `json:"time_limit"`
	Nodes     int       `json:"nodes"`
	Runtime   string    `json:"runtime"`
	// FailFast says the runs stopped at their first proven violation (--fail-fast).
	FailFast bool          `json:"fail_fast,omitempty"`
	Command  string        `json:"command,omitempty"`
	Cells    []*MatrixCell `json:"cells"`
}

// RunMatrix runs every cell and writes matrix.json and matrix.md into cfg.Dir, also when ctx ends early (with
// what ran). A run that fails to set up is recorded with its error and the matrix goes on; a bad config stops it.
func RunMatrix(ctx context.Context, cfg MatrixConfig) (Matrix, error) {
	base := cfg.Base
	tg, err := newTarget(base)
	if err != nil {
		return Matrix{}, err
	}
	flaws := cfg.Flaws
	if len(flaws) == 0 {
		if o, ok := tg.Spec().Options["flaw"]; ok {
			flaws = o.Values
		} else {
			flaws = []string{"none"}
		}
	}
	if len(cfg.Faults) == 0 && len(cfg.Cells) == 0 {
		return Matrix{}, field.Errorf("matrix.faults", "names no fault")
	}
	if cfg.Runs < 1 || cfg.CorrectRuns < 1 {
		return Matrix{}, field.Errorf("matrix.runs", "must be >= 1")
	}
	m := Matrix{Target: tg.Name(), Date: time.Now().UTC(), TimeLimit: base.TimeLimit, Nodes: base.Nodes, Runtime: base.Runtime,
		FailFast: base.FailFast}
	if len(cfg.Cells) > 0 {
		for _, c := range cfg.Cells {
			m.Cells = append(m.Cells, &MatrixCell{Flaw: c[0], Fault: c[1]})
		}
	} else {
		for _, flaw := range flaws {
			for _, fault := range cfg.Faults {
				m.Cells = append(m.Cells, &MatrixCell{Flaw: flaw, Fault: fault})
			}
		}
	}
	// Every cell's config is checked before anything runs.
	tests := map[*MatrixCell]Test{}
	for _, c := range m.Cells {
		t := base
		t.Flaw = c.Flaw
		if _, ok := tg.Spec().Options["flaw"]; !ok {
			t.Flaw = ""
		}
		t.Name = ""
		t.TestCount = 1
		o, err := ParseNemesis(nemesis.Flags{Nemesis: c.Fault, Mode: base.Nemesis.Options.Mode})
		if err != nil {
			return m, err
		}
		t.Nemesis = NemesisConfig{Options: o}
		if t, err = prepare(t); err != nil {
			return m, err
		}
		tests[c] = t
	}
	out := cfg.Out
	if out == nil {
		out = io.Discard
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return m, field.Errorf("matrix.dir", "%v", err)
	}
	total := 0
	for _, c := range m.Cells {
		total += cfg.runs(c)
	}
	done := 0
	for _, c := range m.Cells {
		for i := 0; i < cfg.runs(c) && ctx.Err() == nil; i++ {
			t := tests[c]
			t.Seed = base.Seed + int64(i)
			t.Out = io.Discard
			res, err := runPrepared(ctx, t)
			done++
			mr := MatrixRun{Seed: t.Seed, Verdict: res.Verdict, Dir: res.Dir, Command: rerunCommand(t)}
			if err != nil {
				if ctx.Err() != nil || errors.Is(err, ErrInterrupted) {
					break
				}
				mr.Error = err.Error()
				c.Errors++
			} else if res.Verdict == Invalid {
				c.Detected++
				mr.Detection = Duration(detectionTime(res))
				if res.Detection != nil {
					mr.Found = res.Detection.Found
				}
			}
			c.Runs = append(c.Runs, mr)
			if res.Runtime != "" {
				m.Runtime = res.Runtime // the runtime used, not "auto"
			}
			fmt.Fprintf(out, "[%d/%d] flaw %-16s fault %-10s seed %d: %s%s\n", done, total, c.Flaw, c.Fault, t.Seed, res.Verdict,
				map[bool]string{true: " (error: " + mr.Error + ")", false: ""}[mr.Error != ""])
			_ = m.write(cfg.Dir) // what ran so far is on disk, whatever happens next
		}
		c.summarise()
	}
	if err := m.write(cfg.Dir); err != nil {
		return m, setupErr("write the matrix", err)
	}
	if ctx.Err() != nil {
		return m, fmt.Errorf("%w: the matrix stopped early; what ran is in %s", ErrInterrupted, cfg.Dir)
	}
	return m, nil
}

func (cfg MatrixConfig) runs(c *MatrixCell) int {
	if c.Flaw == "none" || c.Flaw == "" {
		return cfg.CorrectRuns
	}
	return cfg.Runs
}

func (c *MatrixCell) summarise() {
	var ds []time.Duration
	for _, r := range c.Runs {
		if r.Verdict == Invalid && r.Error == "" {
			ds = append(ds, r.Detection.D())
		}
	}
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	c.MedianDetection = Duration(ds[len(ds)/2])
	if len(ds)%2 == 0 {
		c.MedianDetection = Duration((ds[len(ds)/2-1] + ds[len(ds)/2]) / 2)
	}
	c.MaxDetection = Duration(ds[len(ds)-1])
}

// detectionTime reads a run's history and returns the earliest time, since the load began, at which the
// recorded history already held a violation: for each invalid key, the shortest prefix of its events (cut at a
// completion; operations still open there count as unknown) that the checker finds invalid. Linearizability is
// closed under prefixes, so a binary search over the completions finds it. 0 when it cannot tell.
func detectionTime(res Result) time.Duration {
	invalid := map[string]bool{}
	for _, k := range res.Keys {
		if k.Verdict == Invalid {
			invalid[k.Key] = true
		}
	}
	events, err := history.ReadFile(filepath.Join(res.Dir, HistoryFile))
	if err != nil && !errors.Is(err, history.ErrTornTail) {
		return 0
	}
	perKey := map[string][]history.Event{}
	var loadStart int64 = -1
	for _, e := range events {
		if e.Process == history.NemesisProcess {
			continue
		}
		if loadStart < 0 {
			loadStart = e.Time
		}
		if invalid[e.Key] {
			perKey[e.Key] = append(perKey[e.Key], e)
		}
	}
	var best int64 = -1
	for _, evs := range perKey {
		if t, ok := firstInvalidPrefix(evs); ok && (best < 0 || t < best) {
			best = t
		}
	}
	if best < 0 || loadStart < 0 {
		return 0
	}
	return time.Duration(best - loadStart)
}

// firstInvalidPrefix returns the time of the completion that ends the shortest invalid prefix of one key's
// events, and false when the events are not proven invalid (a prefix whose check proves nothing counts as valid).
func firstInvalidPrefix(evs []history.Event) (int64, bool) {
	var cuts []int // indexes of completions
	for i, e := range evs {
		if e.Type != history.Invoke {
			cuts = append(cuts, i)
		}
	}
	invalidUpTo := func(c int) bool { return checkEvents(evs[:cuts[c]+1]) == checker.Invalid }
	if len(cuts) == 0 || !invalidUpTo(len(cuts)-1) {
		return 0, false
	}
	lo, hi := 0, len(cuts)-1 // the answer is in [lo, hi]
	for lo < hi {
		mid := (lo + hi) / 2
		if invalidUpTo(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return evs[cuts[lo]].Time, true
}

// rerunCommand is the command line that runs t alone.
func rerunCommand(t Test) string {
	var b strings.Builder
	b.WriteString("skeptic run")
	if t.TargetSpec != "" {
		fmt.Fprintf(&b, " --target-spec %s", t.TargetSpec)
	} else if t.Target != Default().Target {
		fmt.Fprintf(&b, " --target %s", t.Target)
	}
	if t.Flaw != "" && t.Flaw != "none" {
		fmt.Fprintf(&b, " --flaw %s", t.Flaw)
	}
	if len(t.Nemesis.Faults) > 0 {
		fmt.Fprintf(&b, " --nemesis %s", strings.Join(t.Nemesis.Faults, ","))
		if t.Nemesis.Mode != "" {
			fmt.Fprintf(&b, " --nemesis-mode %s", t.Nemesis.Mode)
		}
	}
	fmt.Fprintf(&b, " --nodes %d --time-limit %s --runtime %s --seed %d", t.Nodes, t.TimeLimit.D(), t.Runtime, t.Seed)
	if t.FailFast {
		b.WriteString(" --fail-fast")
	}
	return b.String()
}

// write saves the matrix as matrix.json and matrix.md in dir.
func (m Matrix) write(dir string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "matrix.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "matrix.md"), []byte(m.Markdown()), 0o644)
}

// Markdown renders the matrix as a table: a row per flaw, a column per fault, each cell "detected/runs" with
// the median and maximum time to detection.
func (m Matrix) Markdown() string {
	var flaws, faults []string
	cells := map[[2]string]*MatrixCell{}
	for _, c := range m.Cells {
		if !slices.Contains(flaws, c.Flaw) {
			flaws = append(flaws, c.Flaw)
		}
		if !slices.Contains(faults, c.Fault) {
			faults = append(faults, c.Fault)
		}
		cells[[2]string{c.Flaw, c.Fault}] = c
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Detection matrix of target %s: %d nodes, %s runs on the %s runtime, %s.\n", m.Target, m.Nodes,
		m.TimeLimit.D(), m.Runtime, m.Date.Format("2006-01-02"))
	if m.FailFast {
		b.WriteString("With --fail-fast: a run stopped at the first key the online check proved invalid.\n")
	}
	if m.Command != "" {
		fmt.Fprintf(&b, "Made with `%s`.\n", m.Command)
	}
	b.WriteString("Each cell: runs that found the flaw (invalid) / runs, then the median and maximum time from the start of the\n")
	b.WriteString("load to the moment the history held the violation. For `none` (the correct build) every invalid run is a false positive.\n\n")
	fmt.Fprintf(&b, "| flaw | %s |\n|---|%s\n", strings.Join(faults, " | "), strings.Repeat("---|", len(faults)))
	for _, f := range flaws {
		fmt.Fprintf(&b, "| %s |", f)
		for _, x := range faults {
			c := cells[[2]string{f, x}]
			if c == nil {
				b.WriteString(" |")
				continue
			}
			fmt.Fprintf(&b, " %d/%d", c.Detected, len(c.Runs))
			if c.Detected > 0 {
				fmt.Fprintf(&b, " (%s, max %s)", c.MedianDetection.D().Round(100*time.Millisecond), c.MaxDetection.D().Round(100*time.Millisecond))
			}
			if c.Errors > 0 {
				fmt.Fprintf(&b, ", %d errors", c.Errors)
			}
			b.WriteString(" |")
		}
		b.WriteString("\n")
	}
	return b.String()
}
