package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/checker"
	"github.com/skeptic-dev/skeptic/history"
)

// TestReportOfPartitionedRun reports a kv history with a partition of n3 and stale reads on n3 during it: the
// page must carry the verdict, the counts, the plots with the fault shaded, the timeline, the anomalies (each
// naming the partition as active) and the links; report.json must agree.
func TestReportOfPartitionedRun(t *testing.T) {
	h := genHistory(genSpec{Seed: 1, Ops: 3000, Workers: 6, OpsPerKey: 100, Partition: [2]time.Duration{600 * time.Millisecond, 1400 * time.Millisecond}, Stale: 3})
	dir := runDir(t, h)
	cfg := `{"name":"paxos-stale-reads-kv","target":"paxos","flaw":"stale-reads","nodes":3,"concurrency":6,"rate":500,
		"time_limit":"6s","workload":"kv","seed":42,"nemesis":{"faults":["partition"]},"runtime_used":"local","future_field":1}`
	require.NoError(t, os.WriteFile(filepath.Join(dir, ConfigFile), []byte(cfg), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, NodesDir, "n1"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, NodesDir, "n1", "node.log"), []byte("log\n"), 0o644))

	s, err := Write(dir, nil, Options{})
	require.NoError(t, err)
	require.Equal(t, "invalid", s.Verdict)
	require.GreaterOrEqual(t, s.FailedKeys, 2, "each stale read breaks its key")
	require.Len(t, s.Anomalies, s.FailedKeys)
	require.Len(t, s.Faults, 1)
	f := s.Faults[0]
	assert.Equal(t, "partition", f.Kind)
	assert.Equal(t, int64(600*time.Millisecond), f.Start)
	assert.Equal(t, int64(1401*time.Millisecond), f.End)
	assert.Equal(t, []string{"n1", "n2", "n3"}, f.Nodes)
	for _, a := range s.Anomalies {
		assert.Equal(t, "n3", a.Node)
		assert.True(t, strings.HasPrefix(a.Text, "Read of "+a.Key+" by process "), a.Text)
		assert.Equal(t, "stale read", a.Kind)
		assert.Contains(t, a.Text, "had completed before it began")
		require.Len(t, a.Faults, 1, a.Text)
		assert.Contains(t, a.Faults[0], "partition (one): n1 drops n3")
	}
	assert.Equal(t, "skeptic run --config "+filepath.Join(dir, ConfigFile), s.Command)
	assert.EqualValues(t, 3000, s.Ops.Total())

	b, err := os.ReadFile(filepath.Join(dir, ReportFile))
	require.NoError(t, err)
	page := string(b)
	for _, want := range []string{
		`data-verdict="invalid"`, fmt.Sprintf("Invalid: %d of 30 keys are not linearizable.", s.FailedKeys), "flaw stale-reads", "seed 42",
		`id="plot-latency"><svg`, `id="plot-throughput"><svg`, "Latency of each operation", "Throughput",
		`id="timeline"`, "start-partition", `href="history.jsonl"`, `href="config.json"`, `href="nodes/n1/node.log"`,
		htmlEscape(s.Anomalies[0].Text), "skeptic run --config",
	} {
		assert.True(t, strings.Contains(page, want), "the page lacks %q", want)
	}
	assert.False(t, strings.Contains(page, "plot-clock"), "a clock plot, but no clock fault ran")
	// Self-contained: nothing is loaded from elsewhere.
	bare := strings.NewReplacer(`xmlns="http://www.w3.org/2000/svg"`, "", `xmlns:xlink="http://www.w3.org/1999/xlink"`, "").Replace(page)
	for _, bad := range []string{"<script src", `rel="stylesheet"`, "http://", "https://", "@import", "url("} {
		assert.False(t, strings.Contains(bare, bad), "the page loads something with %q", bad)
	}
	// The anomalies come first: the first screen says which read was stale and why.
	assert.Less(t, strings.Index(page, "What went wrong: stale read on key"), strings.Index(page, "<h2>Test</h2>"))

	var back Summary
	j, err := os.ReadFile(filepath.Join(dir, SummaryFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(j, &back))
	assert.Equal(t, s.Anomalies, back.Anomalies)
}

// TestReportOfValidRun: a linearizable history with no faults gives a green page, no anomalies, no faults.
func TestReportOfValidRun(t *testing.T) {
	dir := runDir(t, genHistory(genSpec{Seed: 2, Ops: 500, Workers: 4, OpsPerKey: 100}))
	s, err := Write(dir, nil, Options{})
	require.NoError(t, err)
	require.Equal(t, "valid", s.Verdict)
	assert.Empty(t, s.Anomalies)
	assert.Empty(t, s.Faults)
	assert.Equal(t, "skeptic check "+filepath.Join(dir, HistoryFile), s.Command)
	b, err := os.ReadFile(filepath.Join(dir, ReportFile))
	require.NoError(t, err)
	assert.Contains(t, string(b), "Valid: the history of every one of the 5 keys is linearizable.")
	assert.Contains(t, string(b), "No faults were injected.")
}

// TestVisualizationWindow: a single register with a long history is cut to a window around the anomaly, and
// the cut visualization is much smaller than the whole one.
func TestVisualizationWindow(t *testing.T) {
	h := genHistory(genSpec{Seed: 3, Ops: 3000, Workers: 6, Partition: [2]time.Duration{time.Second, 1500 * time.Millisecond}, Stale: 1})
	whole, cut := runDir(t, h), runDir(t, h)
	sw, err := Write(whole, nil, Options{MaxVisOps: 100000})
	require.NoError(t, err)
	sc, err := Write(cut, nil, Options{MaxVisOps: 200})
	require.NoError(t, err)
	require.Len(t, sw.Anomalies, 1)
	require.Len(t, sc.Anomalies, 1)
	assert.Empty(t, sw.Anomalies[0].Window)
	assert.Contains(t, sc.Anomalies[0].Window, "cut to the ")
	assert.Equal(t, sw.Anomalies[0].Text, sc.Anomalies[0].Text)
	stw, err := os.Stat(filepath.Join(whole, sw.Anomalies[0].Visualization))
	require.NoError(t, err)
	stc, err := os.Stat(filepath.Join(cut, sc.Anomalies[0].Visualization))
	require.NoError(t, err)
	t.Logf("visualization: whole %d B, cut %d B (%s)", stw.Size(), stc.Size(), sc.Anomalies[0].Window)
	assert.Less(t, stc.Size()*3, stw.Size())
	vis, err := os.ReadFile(filepath.Join(cut, sc.Anomalies[0].Visualization))
	require.NoError(t, err)
	assert.Contains(t, string(vis), "partition (one)")
	assert.Contains(t, string(vis), "cannot be linearized: read()")
}

// TestBadRunFolder: a folder without a history, or with a broken line, is an error naming the file and line.
func TestBadRunFolder(t *testing.T) {
	_, err := Write(t.TempDir(), nil, Options{})
	require.ErrorContains(t, err, "history.jsonl")
	dir := runDir(t, []byte("{\"index\":0,\"time\":1,\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"k\",\"value\":null}\nnot json\n"))
	_, err = Write(dir, nil, Options{})
	require.ErrorContains(t, err, "history.jsonl:2")
	dir = runDir(t, genHistory(genSpec{Seed: 2, Ops: 10, Workers: 2}))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ConfigFile), []byte("{"), 0o644))
	_, err = Write(dir, nil, Options{})
	require.ErrorContains(t, err, "config.json is not a skeptic config.json")
}

// TestClockPlot: a run with clock faults gets a plot of the recorded clock offsets, and the clock fault's
// window runs from the bump to the reset.
func TestClockPlot(t *testing.T) {
	h := string(genHistory(genSpec{Seed: 4, Ops: 300, Workers: 3, OpsPerKey: 100}))
	h += `{"index":100000,"time":200000000,"process":"nemesis","type":"info","f":"clock-bump","value":{"strategy":"bump","deltas":{"n2":"2s"}}}
{"index":100001,"time":201000000,"process":"nemesis","type":"info","f":"clock-bump","value":{"strategy":"bump","offsets_ns":{"n2":2000000000},"rates":{"n2":1}}}
{"index":100002,"time":300000000,"process":"nemesis","type":"info","f":"clock-reset","value":{"nodes":["n2"]}}
{"index":100003,"time":301000000,"process":"nemesis","type":"info","f":"clock-reset","value":{"offsets_ns":{"n2":0},"rates":{"n2":1}}}
`
	dir := runDir(t, []byte(h))
	s, err := Write(dir, nil, Options{})
	require.NoError(t, err)
	require.Len(t, s.Faults, 1)
	assert.Equal(t, Fault{Kind: "clock", Start: 200_000_000, End: 301_000_000, Nodes: []string{"n2"}, What: "clock-bump (bump): n2 offset +2.000 s", Ended: "clock-reset"}, s.Faults[0])
	b, err := os.ReadFile(filepath.Join(dir, ReportFile))
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(b), `id="plot-clock"><svg`), "no clock plot")
	assert.True(t, strings.Contains(string(b), "Clock offsets"))
}

// TestReportOfUnknownRun: a check that ran out of time gives an amber page that says so, with no anomaly.
func TestReportOfUnknownRun(t *testing.T) {
	h := genHistory(genSpec{Seed: 5, Ops: 400, Workers: 4, OpsPerKey: 100})
	dir := runDir(t, h)
	events, err := history.ReadFile(filepath.Join(dir, HistoryFile))
	require.NoError(t, err)
	res, err := checker.Check(events, checker.Options{Timeout: time.Nanosecond, Visualize: true})
	require.NoError(t, err)
	require.Equal(t, checker.Unknown, res.Verdict)
	s, err := Write(dir, &res, Options{})
	require.NoError(t, err)
	assert.Equal(t, "unknown", s.Verdict)
	assert.Empty(t, s.Anomalies)
	b, err := os.ReadFile(filepath.Join(dir, ReportFile))
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(b), `class="banner unknown"`))
	assert.True(t, strings.Contains(string(b), "Unknown: the check did not decide 4 of 4 keys in time; none was found invalid."))
}
