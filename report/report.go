package report

import (
	"errors"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/skeptic-dev/skeptic/checker"
	"github.com/skeptic-dev/skeptic/history"
)

// Options tunes a report. The zero value is the default.
type Options struct {
	// CheckTimeout bounds the check when Write has no result and checks the history itself (default 60 s).
	CheckTimeout time.Duration
	// MaxVisOps is the number of operations above which a key's visualization is cut to a window around the
	// anomaly (default 400).
	MaxVisOps int
	// MaxExplained bounds the failed keys explained in words and visualized (default 20); the others are listed.
	MaxExplained int
	// ExplainBudget bounds, for the whole report, the checks that find what an anomalous read could have
	// returned instead (default 5 s).
	ExplainBudget time.Duration
	// Command is the command that re-runs the test; default "skeptic run --config DIR/config.json".
	Command string
}

func (o Options) withDefaults() Options {
	if o.CheckTimeout <= 0 {
		o.CheckTimeout = 60 * time.Second
	}
	if o.MaxVisOps <= 0 {
		o.MaxVisOps = 400
	}
	if o.MaxExplained <= 0 {
		o.MaxExplained = 20
	}
	if o.ExplainBudget <= 0 {
		o.ExplainBudget = 5 * time.Second
	}
	return o
}

// Summary is what report.json holds: the verdict and the anomalies in plain words, for JUnit and scripts.
type Summary struct {
	// Verdict is valid, invalid or unknown.
	Verdict string `json:"verdict"`
	// Test is the test's name and Seed its seed (from config.json; empty for a history checked on its own).
	Test string `json:"test,omitempty"`
	Seed int64  `json:"seed"`
	// Dir is the run folder, and Command the command that re-runs the test.
	Dir     string `json:"dir"`
	Command string `json:"command"`
	// Keys counts the keys checked, FailedKeys the invalid ones and UnknownKeys those not decided.
	Keys        int `json:"keys"`
	FailedKeys  int `json:"failed_keys"`
	UnknownKeys int `json:"unknown_keys"`
	// Ops counts the client operations by outcome.
	Ops Counts `json:"ops"`
	// Duration is the span of the history, from its base to its last event (ns).
	Duration time.Duration `json:"duration_ns"`
	// Anomalies explains the failed keys (at most Options.MaxExplained of them).
	Anomalies []Anomaly `json:"anomalies,omitempty"`
	// Faults are the fault intervals.
	Faults []Fault `json:"faults,omitempty"`
	// Warnings says what of the input was left out.
	Warnings []string `json:"warnings,omitempty"`
}

// Write makes the report of the run folder dir: report.html (self-contained), report.json (Summary), and the
// annotated visualization of each explained failed key (dir/<key>.html, replacing the checker's). res is the
// checker's result on dir's history.jsonl, checked with Options.Visualize; nil makes Write check the history
// itself (as `skeptic report DIR` does). Errors name the file that could not be read or written.
func Write(dir string, res *checker.Result, opts Options) (*Summary, error) {
	opts = opts.withDefaults()
	cfg, hasCfg, err := readConfig(dir)
	if err != nil {
		return nil, err
	}
	hpath := filepath.Join(dir, HistoryFile)
	events, err := history.ReadFile(hpath)
	var warnings []string
	if errors.Is(err, history.ErrTornTail) {
		warnings = append(warnings, err.Error()+"; reported the events before it")
	} else if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	if res == nil {
		r, err := checker.Check(events, checker.Options{Timeout: opts.CheckTimeout, Visualize: true})
		if err != nil {
			return nil, fmt.Errorf("report: check %s: %w", hpath, err)
		}
		res = &r
	}
	warnings = append(warnings, res.Warnings...)

	var end int64
	for _, e := range events {
		end = max(end, e.Time)
	}
	steps, faults, clocks := nemesisTimeline(events, end)
	ops := clientOps(events)

	s := &Summary{Verdict: string(res.Verdict), Dir: dir, Keys: len(res.Keys), Duration: time.Duration(end), Faults: faults, Warnings: warnings}
	if hasCfg {
		s.Test, s.Seed = cfg.Name, cfg.Seed
		s.Command = "skeptic run --config " + filepath.Join(dir, ConfigFile)
	} else {
		s.Command = "skeptic check " + hpath
	}
	if opts.Command != "" {
		s.Command = opts.Command
	}
	for _, k := range res.Keys {
		switch k.Verdict {
		case checker.Invalid:
			s.FailedKeys++
		case checker.Unknown:
			s.UnknownKeys++
		}
	}

	// The anomalies, in the order of the checker's keys, and the visualizations.
	x := &explainer{events: map[int64]history.Event{}, faults: faults, budget: opts.ExplainBudget}
	for _, e := range events {
		x.events[e.Index] = e
	}
	byKey := eventsByKey(events)
	failed := res.Failed()
	sort.SliceStable(failed, func(i, j int) bool { return firstTime(byKey[failed[i].Key]) < firstTime(byKey[failed[j].Key]) })
	for i, k := range failed {
		if i >= opts.MaxExplained {
			break
		}
		info, ok := res.Linearization(k.Key)
		if !ok {
			s.Anomalies = append(s.Anomalies, Anomaly{Key: k.Key, Text: fmt.Sprintf("Key %s is not linearizable; the check found it but had no time left to record the partial linearizations that explain it.", k.Key)})
			continue
		}
		a, bad, order, err := x.explain(k.Key, byKey[k.Key], info)
		if err != nil {
			return nil, fmt.Errorf("report: key %q: %w", k.Key, err)
		}
		kops, _ := keyOps(byKey[k.Key])
		a.Visualization, a.Window, err = visualize(dir, k.Key, kops, info, bad, order, faults, opts.MaxVisOps)
		if err != nil {
			return nil, err
		}
		s.Anomalies = append(s.Anomalies, a)
	}

	page, err := render(dir, cfg, hasCfg, s, res, events, ops, steps, faults, clocks, end)
	if err != nil {
		return nil, err
	}
	if err := writeFile(filepath.Join(dir, ReportFile), []byte(page)); err != nil {
		return nil, err
	}
	b, err := jsonMarshal(s)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	if err := writeFile(filepath.Join(dir, SummaryFile), append(b, '\n')); err != nil {
		return nil, err
	}
	return s, nil
}

func firstTime(evs []history.Event) int64 {
	if len(evs) == 0 {
		return 0
	}
	return evs[0].Time
}

// writeFile writes b to path and fsyncs it.
func writeFile(path string, b []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("report: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("report: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// page is the data of report.html's template.
type page struct {
	S        *Summary
	Cfg      runConfig
	HasCfg   bool
	Title    string
	Headline string
	Class    string
	Meta     [][2]string
	Counts   []countRow
	Windows  []windowRow
	Overall  Counts
	Latency  template.HTML
	Through  template.HTML
	Clock    template.HTML
	Sampled  string
	Steps    []stepRow
	Bars     []barRow
	Keys     []keyRow
	MoreKeys int
	Links    []link
	Valid    int
	// FaultNames are the faults asked for.
	FaultNames string
}

type countRow struct {
	F     string
	C     Counts
	Avail string
}

type windowRow struct {
	Kind, What, From, To, Avail, Color string
	C                                  Counts
}

type stepRow struct{ At, Done, F, What, Error string }

type barRow struct {
	Label, Color, Title string
	Left, Width         float64
}

type keyRow struct {
	Key, Verdict, Vis string
	Ops, Pruned       int
}

type link struct{ Name, Href string }

func pct(c Counts) string {
	a := c.Availability()
	if a < 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", 100*a)
}

// render builds report.html.
func render(dir string, cfg runConfig, hasCfg bool, s *Summary, res *checker.Result, events []history.Event, ops []clientOp, steps []Step, faults []Fault, clocks []ClockSample, end int64) (string, error) {
	p := page{S: s, Cfg: cfg, HasCfg: hasCfg, Class: s.Verdict, FaultNames: cfg.faultNames()}
	name := cfg.Name
	if name == "" {
		name = filepath.Base(dir)
	}
	p.Title = fmt.Sprintf("%s: %s", name, strings.ToUpper(s.Verdict))
	switch s.Verdict {
	case string(checker.Valid):
		p.Headline = fmt.Sprintf("Valid: the history of every one of the %d keys is linearizable.", s.Keys)
	case string(checker.Invalid):
		p.Headline = fmt.Sprintf("Invalid: %d of %d keys are not linearizable.", s.FailedKeys, s.Keys)
	default:
		p.Headline = fmt.Sprintf("Unknown: the check did not decide %d of %d keys in time; none was found invalid.", s.UnknownKeys, s.Keys)
	}
	if hasCfg {
		flaw := cfg.Flaw
		if flaw == "" {
			flaw = "none"
		}
		p.Meta = [][2]string{
			{"target", cfg.Target}, {"flaw", flaw}, {"nodes", fmt.Sprint(cfg.Nodes)},
			{"workload", fmt.Sprintf("%s, %d workers, %g ops/s, %s", cfg.Workload, cfg.Concurrency, cfg.Rate, cfg.TimeLimit)},
			{"faults", cfg.faultNames()}, {"seed", fmt.Sprint(cfg.Seed)}, {"runtime", cfg.RuntimeUsed},
		}
		if v := cfg.Versions["skeptic"]; v != "" {
			p.Meta = append(p.Meta, [2]string{"skeptic", v})
		}
	}
	p.Meta = append(p.Meta, [2]string{"history", fmt.Sprintf("%d events over %s", len(events), sec(end))})

	// Counts by function and availability, overall and in each fault window.
	byF := map[string]*Counts{}
	for _, o := range ops {
		if o.End < 0 {
			continue
		}
		c, ok := byF[o.F]
		if !ok {
			c = &Counts{}
			byF[o.F] = c
		}
		c.add(o.Type)
		p.Overall.add(o.Type)
	}
	s.Ops = p.Overall
	for _, f := range sortedKeys(byF) {
		p.Counts = append(p.Counts, countRow{F: f, C: *byF[f], Avail: pct(*byF[f])})
	}
	for _, f := range faults {
		var c Counts
		for _, o := range ops {
			if o.End >= f.Start && o.End <= f.End {
				c.add(o.Type)
			}
		}
		p.Windows = append(p.Windows, windowRow{Kind: f.Kind, What: f.What, From: sec(f.Start), To: sec(f.End), C: c, Avail: pct(c), Color: faultColor(f.Kind)})
	}

	xmax := float64(end) / 1e9
	if xmax <= 0 {
		xmax = 1
	}
	lat, drawn, total, err := latencyPlot(ops, faults, xmax)
	if err != nil {
		return "", fmt.Errorf("report: latency plot: %w", err)
	}
	if drawn < total {
		p.Sampled = fmt.Sprintf("%d of %d operations drawn (evenly sampled for each outcome).", drawn, total)
	}
	thr, err := throughputPlot(ops, faults, xmax)
	if err != nil {
		return "", fmt.Errorf("report: throughput plot: %w", err)
	}
	clk, err := clockPlot(clocks, faults, xmax)
	if err != nil {
		return "", fmt.Errorf("report: clock plot: %w", err)
	}
	p.Latency, p.Through, p.Clock = template.HTML(lat), template.HTML(thr), template.HTML(clk) // #nosec: our own SVG

	for _, st := range steps {
		p.Steps = append(p.Steps, stepRow{At: sec(st.Time), Done: sec(st.Done), F: st.F, What: st.What, Error: st.Error})
	}
	for _, f := range faults {
		p.Bars = append(p.Bars, barRow{
			Label: f.Kind + " " + strings.Join(f.Nodes, ","), Color: faultColor(f.Kind),
			Title: fmt.Sprintf("%s, %s to %s, ended by %s", f.What, sec(f.Start), sec(f.End), f.Ended),
			Left:  100 * float64(f.Start) / float64(max(end, 1)), Width: max(0.3, 100*float64(f.End-f.Start)/float64(max(end, 1))),
		})
	}

	vis := map[string]string{}
	for _, a := range s.Anomalies {
		vis[a.Key] = a.Visualization
	}
	for _, k := range res.Keys {
		if k.Verdict == checker.Valid {
			p.Valid++
			continue
		}
		if len(p.Keys) >= 200 {
			p.MoreKeys++
			continue
		}
		v := vis[k.Key]
		if name := checker.SafeName(k.Key) + ".html"; v == "" && k.Verdict == checker.Invalid {
			if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
				v = name // the checker's own visualization, of a key beyond Options.MaxExplained
			}
		}
		p.Keys = append(p.Keys, keyRow{Key: k.Key, Verdict: string(k.Verdict), Ops: k.Ops, Pruned: k.Pruned, Vis: v})
	}

	for _, f := range []string{HistoryFile, ResultsFile, ConfigFile, LogFile, SummaryFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil || f == SummaryFile {
			p.Links = append(p.Links, link{Name: f, Href: f})
		}
	}
	logs, _ := filepath.Glob(filepath.Join(dir, NodesDir, "*", "*.log"))
	sort.Strings(logs)
	for _, l := range logs {
		rel, err := filepath.Rel(dir, l)
		if err == nil {
			p.Links = append(p.Links, link{Name: rel, Href: filepath.ToSlash(rel)})
		}
	}

	var b strings.Builder
	if err := pageTemplate.Execute(&b, p); err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	return b.String(), nil
}

var pageTemplate = template.Must(template.New("report").Funcs(template.FuncMap{"pct": pct}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{{.Title}}</title>
<style>
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
main{max-width:1000px;margin:0 auto;padding:0 20px 40px}
h1{font-size:24px;margin:0}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #dde;padding-bottom:4px}
.banner{padding:18px 20px;color:#fff;margin:0 -20px 16px}
.banner.valid{background:#2b8a3e}.banner.invalid{background:#c92a2a}.banner.unknown{background:#e8890c}
.banner .sub{opacity:.9;font-size:14px;margin-top:4px}
.anomaly{background:#fff;border-left:6px solid #c92a2a;padding:12px 16px;margin:10px 0;box-shadow:0 1px 2px #0002}
.anomaly h3{margin:0 0 6px;font-size:15px}.anomaly p{margin:6px 0}.anomaly .faults{color:#555;font-size:14px}
table{border-collapse:collapse;background:#fff;font-size:14px}td,th{padding:4px 10px;border-bottom:1px solid #e3e5ea;text-align:left}
th{background:#eef0f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
.meta{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:4px 16px;background:#fff;padding:8px 12px;font-size:14px}
.meta span{color:#667;font-weight:600;margin-right:4px}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px}
pre{background:#1d2330;color:#e9ecf2;padding:10px 12px;overflow-x:auto}
.plot{background:#fff;margin:8px 0;box-shadow:0 1px 2px #0002}.plot svg{width:100%;height:auto;display:block}
.timeline{position:relative;background:#fff;border:1px solid #dde;padding:4px 0}
.bar{position:relative;height:20px;margin:3px 0}.bar span{position:absolute;height:18px;border-radius:3px;font-size:12px;line-height:18px;padding:0 4px;white-space:nowrap;overflow:visible;color:#1d2330}
.swatch{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:middle;margin-right:4px}
.note{color:#667;font-size:13px}
</style>
</head>
<body>
<main>
<div class="banner {{.Class}}" id="verdict" data-verdict="{{.S.Verdict}}">
<h1>{{.Headline}}</h1>
<div class="sub">{{if .HasCfg}}{{.Cfg.Name}} · flaw {{if .Cfg.Flaw}}{{.Cfg.Flaw}}{{else}}none{{end}} · {{.Cfg.Nodes}} nodes · faults {{.FaultNames}} · seed {{.Cfg.Seed}}{{else}}{{.S.Dir}}{{end}}</div>
</div>

{{if .S.Anomalies}}
<section id="anomalies">
{{range $i, $a := .S.Anomalies}}{{if lt $i 1}}
<div class="anomaly" data-key="{{$a.Key}}" data-kind="{{$a.Kind}}">
<h3>What went wrong: {{$a.Kind}} on key {{$a.Key}}</h3>
<p class="explanation">{{$a.Text}}</p>
{{if $a.Faults}}<p class="faults">Faults active while it ran: {{range $j, $f := $a.Faults}}{{if $j}}; {{end}}{{$f}}{{end}}. Nodes under fault: {{range $j, $n := $a.FaultyNodes}}{{if $j}}, {{end}}{{$n}}{{end}}{{if $a.Node}}; the operation went to {{$a.Node}}{{end}}.</p>{{else}}<p class="faults">No fault was active while it ran{{if $a.Node}}; the operation went to {{$a.Node}}{{end}}.{{if $a.LastFault}} The last fault before it: {{$a.LastFault}}.{{end}}</p>{{end}}
{{if $a.Visualization}}<p><a href="{{$a.Visualization}}">Porcupine's visualization of {{$a.Key}}</a>{{if $a.Window}} <span class="note">({{$a.Window}})</span>{{end}}</p>{{end}}
</div>
{{end}}{{end}}
{{if gt (len .S.Anomalies) 1}}<p><a href="#all-anomalies">All {{len .S.Anomalies}} explained keys</a>{{if gt .S.FailedKeys (len .S.Anomalies)}} (of {{.S.FailedKeys}} that failed){{end}} are below.</p>{{end}}
</section>
{{end}}

<h2>Test</h2>
<div class="meta">
{{range .Meta}}<div><span>{{index . 0}}</span> {{index . 1}}</div>{{end}}
</div>
<p>Re-run exactly this test (same seed, same fault schedule):</p>
<pre id="command">{{.S.Command}}</pre>
{{range .S.Warnings}}<p class="note">Warning: {{.}}</p>{{end}}

<h2>Operations</h2>
<table id="counts">
<tr><th>function</th><th>ok</th><th>fail</th><th>info</th><th>availability (ok)</th></tr>
{{range .Counts}}<tr><td>{{.F}}</td><td class="n">{{.C.OK}}</td><td class="n">{{.C.Fail}}</td><td class="n">{{.C.Info}}</td><td class="n">{{.Avail}}</td></tr>{{end}}
<tr><th>all</th><th class="n">{{.Overall.OK}}</th><th class="n">{{.Overall.Fail}}</th><th class="n">{{.Overall.Info}}</th><th class="n">{{pct .Overall}}</th></tr>
</table>
{{if .Windows}}
<p>Availability during each fault window (operations that completed inside it):</p>
<table id="windows">
<tr><th>fault</th><th>from</th><th>to</th><th>ok</th><th>fail</th><th>info</th><th>availability</th></tr>
{{range .Windows}}<tr><td><span class="swatch" style="background:{{.Color}}"></span>{{.What}}</td><td class="n">{{.From}}</td><td class="n">{{.To}}</td><td class="n">{{.C.OK}}</td><td class="n">{{.C.Fail}}</td><td class="n">{{.C.Info}}</td><td class="n">{{.Avail}}</td></tr>{{end}}
</table>
{{end}}

<h2>Plots</h2>
<div class="plot" id="plot-latency">{{.Latency}}</div>
{{if .Sampled}}<p class="note">{{.Sampled}}</p>{{end}}
<div class="plot" id="plot-throughput">{{.Through}}</div>
{{if .Clock}}<div class="plot" id="plot-clock">{{.Clock}}</div>{{end}}

<h2>Fault timeline</h2>
{{if .Bars}}
<div class="timeline" id="timeline">
{{range .Bars}}<div class="bar"><span style="left:{{printf "%.2f" .Left}}%;width:{{printf "%.2f" .Width}}%;background:{{.Color}}" title="{{.Title}}">{{.Label}}</span></div>{{end}}
</div>
{{end}}
{{if .Steps}}
<table id="steps">
<tr><th>at</th><th>done</th><th>nemesis</th><th>what</th><th>error</th></tr>
{{range .Steps}}<tr><td class="n">{{.At}}</td><td class="n">{{.Done}}</td><td>{{.F}}</td><td>{{.What}}</td><td>{{.Error}}</td></tr>{{end}}
</table>
{{else}}<p>No faults were injected.</p>{{end}}

{{if .S.Anomalies}}
<h2 id="all-anomalies">Every explained anomaly</h2>
{{range .S.Anomalies}}<div class="anomaly"><h3>{{.Kind}} on key {{.Key}}</h3><p>{{.Text}}</p>{{if .Visualization}}<p><a href="{{.Visualization}}">visualization</a>{{if .Window}} <span class="note">({{.Window}})</span>{{end}}</p>{{end}}</div>
{{end}}{{end}}

<h2>Keys</h2>
<p>{{.Valid}} of {{.S.Keys}} keys are linearizable.{{if .Keys}} The others:{{end}}</p>
{{if .Keys}}<table id="keys"><tr><th>key</th><th>verdict</th><th>ops</th><th>pruned</th><th>visualization</th></tr>
{{range .Keys}}<tr><td>{{.Key}}</td><td>{{.Verdict}}</td><td class="n">{{.Ops}}</td><td class="n">{{.Pruned}}</td><td>{{if .Vis}}<a href="{{.Vis}}">{{.Vis}}</a>{{end}}</td></tr>{{end}}
</table>{{if .MoreKeys}}<p class="note">and {{.MoreKeys}} more (see results.json).</p>{{end}}{{end}}

<h2>Files</h2>
<ul id="links">{{range .Links}}<li><a href="{{.Href}}">{{.Name}}</a></li>{{end}}</ul>
</main>
</body>
</html>
`))
