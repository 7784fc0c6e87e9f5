package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	junit "github.com/joshdk/go-junit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/report"
)

// chromium returns the path of Debian's chromium. Where it is missing the test skips, saying so, unless CI (or
// SKEPTIC_REQUIRE_DOCKER=1) demands it: .ci/run installs it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no chromium on PATH (apt-get install chromium); the report's browser test cannot run"
	require.False(t, os.Getenv("CI") != "" || os.Getenv("SKEPTIC_REQUIRE_DOCKER") == "1", msg)
	t.Skip(msg)
	return ""
}

// runFolder returns the run folder store/latest points at.
func runFolder(t *testing.T, store string) string {
	t.Helper()
	dir, err := filepath.EvalSymlinks(filepath.Join(store, "latest"))
	require.NoError(t, err)
	return dir
}

// TestReportInChromium runs two real tests on the local runtime, a failing one (--flaw stale-reads --nemesis
// partition, with --junit) and a passing one, then opens both reports, served by `serve`'s handler, in headless
// Chromium: no console errors, and the verdict, the plots and (for the failing run) the explanation are in the
// DOM. The failing run's first screen must say which read was stale and why. It saves a screenshot of that
// screen (SKEPTIC_SCREENSHOT=path chooses where; README's docs/report.png is made this way).
func TestReportInChromium(t *testing.T) {
	if testing.Short() || os.Getenv("SKEPTIC_SKIP_E2E") == "1" {
		t.Skip("end-to-end test (-short or SKEPTIC_SKIP_E2E=1)")
	}
	browser := chromium(t)
	bin := staticSkeptic(t)
	store := t.TempDir()
	junitPath := filepath.Join(store, "junit.xml")

	// 1. The failing run.
	var out, errb bytes.Buffer
	code := executeContext(context.Background(), []string{"run", "--runtime", "local", "--nodes", "3", "--time-limit", "12s",
		"--flaw", "stale-reads", "--nemesis", "partition", "--nemesis-interval", "4s", "--recovery", "2s", "--seed", "7",
		"--node-binary", bin, "--store", store, "--junit", junitPath}, &out, &errb)
	require.Equal(t, 1, code, "stale reads must make the run invalid\n%s\n%s", out.String(), errb.String())
	bad := runFolder(t, store)
	require.Contains(t, out.String(), "report: "+filepath.Join(bad, report.ReportFile))
	var sum report.Summary
	b, err := os.ReadFile(filepath.Join(bad, report.SummaryFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &sum))
	require.NotEmpty(t, sum.Anomalies)
	first := sum.Anomalies[0]
	require.True(t, strings.HasPrefix(first.Text, "Read of "+first.Key+" by process "), first.Text)
	require.Contains(t, first.Text, "had completed before it began")
	require.Contains(t, []string{"stale read", "lost write"}, first.Kind)
	require.NotEmpty(t, sum.Faults, "the partition's windows")
	require.Contains(t, out.String(), "first anomaly: "+first.Text)

	// The JUnit file, read back by a JUnit parser.
	suites, err := junit.IngestFile(junitPath)
	require.NoError(t, err)
	require.Len(t, suites, 1)
	require.Len(t, suites[0].Tests, 1)
	assert.Equal(t, junit.StatusFailed, suites[0].Tests[0].Status)
	assert.Equal(t, first.Text, suites[0].Tests[0].Message)

	// 2. The passing run.
	out.Reset()
	errb.Reset()
	code = executeContext(context.Background(), []string{"run", "--runtime", "local", "--nodes", "3", "--time-limit", "4s",
		"--recovery", "1s", "--seed", "8", "--node-binary", bin, "--store", store}, &out, &errb)
	require.Equal(t, 0, code, "%s\n%s", out.String(), errb.String())
	good := runFolder(t, store)
	require.NotEqual(t, bad, good)

	// 3. Both through serve's handler, in Chromium.
	srv, err := report.NewServer(store)
	require.NoError(t, err)
	defer srv.Close()
	hs := httptest.NewServer(srv)
	defer hs.Close()
	rel := func(dir string) string {
		r, err := filepath.Rel(store, dir)
		require.NoError(t, err)
		return "/files/" + filepath.ToSlash(r) + "/" + report.ReportFile
	}

	actx, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1100, 860))...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	var (
		mu       sync.Mutex
		problems []string
	)
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning {
				problems = append(problems, fmt.Sprintf("console %s", e.Type))
			}
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+e.ExceptionDetails.Text)
		case *log.EventEntryAdded:
			if e.Entry.Level == log.EntryLevelError {
				problems = append(problems, "log: "+e.Entry.Text+" "+e.Entry.URL)
			}
		}
	}))
	require.NoError(t, chromedp.Do(ctx)) // starts the browser; chromedp enables the tab's runtime and log domains

	type pageFacts struct {
		verdict, headline, explanation, command string
		plots, paths                            int
	}
	eval := func(js string, v any) {
		t.Helper()
		switch p := v.(type) {
		case *string:
			r, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
			require.NoError(t, err, js)
			*p = r
		case *int:
			r, err := chromedp.Run(ctx, chromedp.Evaluate[int](js))
			require.NoError(t, err, js)
			*p = r
		case *float64:
			r, err := chromedp.Run(ctx, chromedp.Evaluate[float64](js))
			require.NoError(t, err, js)
			*p = r
		}
	}
	open := func(path string) pageFacts {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(hs.URL+path), chromedp.WaitVisible(chromedp.ID("verdict"))), path)
		var f pageFacts
		eval(`document.getElementById("verdict").dataset.verdict`, &f.verdict)
		eval(`document.querySelector("#verdict h1").textContent`, &f.headline)
		eval(`document.getElementById("command").textContent`, &f.command)
		eval(`document.querySelectorAll(".plot").length`, &f.plots)
		eval(`document.querySelectorAll(".plot svg path").length`, &f.paths)
		eval(`(document.querySelector(".explanation")||{}).textContent||""`, &f.explanation)
		return f
	}

	g := open(rel(good))
	assert.Equal(t, "valid", g.verdict)
	assert.Contains(t, g.headline, "Valid")
	assert.GreaterOrEqual(t, g.plots, 2)
	assert.Greater(t, g.paths, 50, "the plots are drawn")
	assert.Empty(t, g.explanation)

	f := open(rel(bad))
	assert.Equal(t, "invalid", f.verdict)
	assert.Contains(t, f.headline, "not linearizable")
	assert.GreaterOrEqual(t, f.plots, 2)
	assert.Greater(t, f.paths, 50)
	assert.Equal(t, first.Text, f.explanation)
	assert.Contains(t, f.command, "skeptic run --config "+filepath.Join(bad, "config.json"))
	// The first screen says which read was stale and why: the explanation is inside the viewport.
	var bottom, viewport float64
	eval(`document.querySelector(".explanation").getBoundingClientRect().bottom`, &bottom)
	eval(`window.innerHeight`, &viewport)
	assert.Less(t, bottom, viewport, "the explanation is below the first screen")

	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	require.NoError(t, err)
	dest := os.Getenv("SKEPTIC_SCREENSHOT")
	if dest == "" {
		dest = filepath.Join(t.TempDir(), "report.png")
	}
	require.NoError(t, os.WriteFile(dest, shot, 0o644))
	t.Logf("screenshot of the failing run's report: %s (%d bytes)", dest, len(shot))

	// The key's Porcupine visualization, linked from the page, draws the anomaly (and the faults of the key's
	// lifetime) as annotations.
	require.NotEmpty(t, first.Visualization)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(hs.URL+strings.TrimSuffix(rel(bad), report.ReportFile)+first.Visualization),
		chromedp.WaitVisible(chromedp.CSS("svg"))))
	var visText string
	eval(`document.body.textContent`, &visText)
	assert.Contains(t, visText, "anomaly", "the anomaly's annotation row")

	// The list of runs.
	var rows int
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(hs.URL+"/"), chromedp.WaitVisible(chromedp.ID("runs"))))
	eval(`document.querySelectorAll("#runs tr.invalid, #runs tr.valid").length`, &rows)
	assert.Equal(t, 2, rows)

	mu.Lock()
	defer mu.Unlock()
	assert.Empty(t, problems, "console errors in Chromium")
}
