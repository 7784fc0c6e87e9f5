package harness

// The check at the end of a run (and of skeptic check): the checker's verdicts into the Result, the visualizations,
// results.json and the summary on the console.

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/skeptic-dev/skeptic/checker"
	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/internal/field"
	"github.com/skeptic-dev/skeptic/report"
)

// check checks the closed history, writes the visualizations of the keys that are not valid and results.json,
// and prints the summary.
func (r *run) check(ctx context.Context, res Result) (Result, error) {
	r.fillCounts(&res)
	events, err := history.ReadFile(r.dir.File(HistoryFile))
	if err != nil {
		return res, setupErr("read history back", err)
	}
	r.con.printf("checking %d events (timeout %s)\n", len(events), r.t.CheckTimeout.D())
	cres, err := checker.Check(events, checker.Options{Timeout: r.t.CheckTimeout.D(), Visualize: true})
	if err != nil {
		res.Error = err.Error()
		_ = writeJSON(r.dir.File(ResultsFile), res)
		return res, setupErr("check", err)
	}
	res, err = fromChecker(res, &cres, r.dir.Path)
	if err != nil {
		return res, err
	}
	r.con.printf("checked %d keys in %s\n", len(res.Keys), res.CheckTime.D().Round(time.Millisecond))
	r.annotate(&res)
	r.guard(&res, events)
	if err := writeJSON(r.dir.File(ResultsFile), res); err != nil {
		return res, setupErr("write results.json", err)
	}
	r.summary(res)
	if s, err := report.Write(r.dir.Path, &cres, report.Options{}); err != nil {
		r.con.printf("report: %v\n", err)
	} else {
		if len(s.Anomalies) > 0 {
			r.con.printf("first anomaly: %s\n", s.Anomalies[0].Text)
		}
		r.con.printf("report: %s\n", filepath.Join(r.dir.Path, report.ReportFile))
	}
	return res, nil
}

// checkPath checks the history file at path (history.jsonl, or Jepsen .edn/.log), writing visualizations of
// the keys that are not valid into dir.
func checkPath(ctx context.Context, path string, o CheckOptions, dir string, res Result) (Result, error) {
	cres, err := checker.CheckFile(path, checker.Options{Timeout: o.Timeout, Visualize: true, Format: o.Format, FailCAS: o.FailCAS})
	if err != nil {
		// The file could not be read or is not a history: the user's input, named with its line.
		return res, &field.Error{Field: "check.file", Msg: err.Error()}
	}
	if len(cres.Keys) == 0 {
		// An empty (or truncated to nothing) file would otherwise be "valid": nothing was checked.
		return res, field.Errorf("check.file", "%s holds no client operations: nothing to check", path)
	}
	return fromChecker(res, &cres, dir)
}

// fromChecker copies the checker's verdicts into res, writing the visualizations of invalid keys into dir, and
// orders the keys invalid first, then unknown, then valid.
func fromChecker(res Result, c *checker.Result, dir string) (Result, error) {
	if _, err := c.WriteVisualizations(dir); err != nil {
		return res, setupErr("write visualizations", err)
	}
	res.Verdict = Verdict(c.Verdict)
	res.CheckTime = Duration(c.Duration)
	res.Warnings = c.Warnings
	res.Keys = res.Keys[:0]
	for _, k := range c.Keys {
		kr := KeyResult{Key: k.Key, Verdict: Verdict(k.Verdict), Ops: k.Ops, Pruned: k.Pruned}
		if k.Visualization != "" {
			kr.Visualization = filepath.Join(dir, k.Visualization)
		}
		res.Keys = append(res.Keys, kr)
	}
	rank := map[Verdict]int{Invalid: 0, Unknown: 1, Valid: 2}
	sort.SliceStable(res.Keys, func(i, j int) bool { return rank[res.Keys[i].Verdict] < rank[res.Keys[j].Verdict] })
	if res.Paths != nil {
		var vis []string
		for _, k := range res.Keys {
			if k.Visualization != "" {
				vis = append(vis, k.Visualization)
			}
		}
		if len(vis) > 0 {
			res.Paths["visualizations"] = strings.Join(vis, ",")
		}
	}
	return res, nil
}

// summary prints the end of a run: counts, the slowest keys, the verdict and the folder.
func (r *run) summary(res Result) {
	fs := make([]string, 0, len(res.Counts))
	for f := range res.Counts {
		fs = append(fs, f)
	}
	sort.Strings(fs)
	for _, f := range fs {
		c := res.Counts[f]
		r.con.printf("  %-6s ok %6d  fail %6d  info %6d\n", f, c["ok"], c["fail"], c["info"])
	}
	r.con.printf("  %d ops, %.0f ops/s during the load; first op %s after start; check %s\n", res.Ops,
		res.OpsPerSecond, res.FirstOp.D().Round(time.Millisecond), res.CheckTime.D().Round(time.Millisecond))
	if a := res.Availability; a != nil && a.Ops > 0 {
		r.con.printf("  availability: %.1f%% of %d ops ok, %.1f%% of the %d outside fault windows\n", 100*a.Overall, a.Ops, 100*a.OutsideFaults, a.OpsOutsideFaults)
	}
	if d := res.Detection; d != nil {
		r.con.printf("  online check: key %s was not linearizable by %s (proven at %s; %d keys checked online)\n", d.Key,
			d.At.D().Round(time.Millisecond), d.Found.D().Round(time.Millisecond), res.OnlineChecked)
	}
	var buf strings.Builder
	if res.HealError != "" {
		fmt.Fprintf(&buf, "warning: not every fault was undone before the final reads: %s\n", res.HealError)
	}
	printKeys(&buf, res, 5)
	printRunReport(&buf, res, r.t.Flaw, r.ux.flawErr)
	printVerdict(&buf, res)
	fmt.Fprintf(&buf, "re-run: skeptic run --config %s\n", r.dir.File(ConfigFile))
	r.con.printf("%s", buf.String())
}
