package harness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/skeptic-dev/skeptic/harness/docker"
	"github.com/skeptic-dev/skeptic/history"
)

// The end-to-end tests run real clusters of the Paxos node: as local processes, and in Docker. Docker tests
// skip when no daemon answers, unless SKEPTIC_REQUIRE_DOCKER=1, where they fail. SKEPTIC_SKIP_E2E=1 skips
// them all (for a quick unit run), except where SKEPTIC_REQUIRE_DOCKER=1 (CI), which no switch overrides.

func skipE2E(t *testing.T) {
	t.Helper()
	if os.Getenv("SKEPTIC_REQUIRE_DOCKER") == "1" {
		return // CI: what it is meant to run, no switch skips
	}
	if testing.Short() || os.Getenv("SKEPTIC_SKIP_E2E") == "1" {
		t.Skip("end-to-end test (-short or SKEPTIC_SKIP_E2E=1)")
	}
}

func requireRuntime(t *testing.T, rt string) {
	t.Helper()
	skipE2E(t)
	if rt != RuntimeDocker {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := docker.Available(ctx); err != nil {
		if os.Getenv("SKEPTIC_REQUIRE_DOCKER") == "1" {
			t.Fatalf("SKEPTIC_REQUIRE_DOCKER=1 but: %v", err)
		}
		t.Skipf("no Docker: %v", err)
	}
}

// testBinary returns a static skeptic binary, built once per test process (go build caches it across runs).
var testBinary = sync.OnceValues(func() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	return StaticBinary(ctx, filepath.Join(cache, "skeptic"))
})

func nodeBinaryForTest(t *testing.T) string {
	t.Helper()
	bin, err := testBinary()
	if err != nil {
		t.Fatalf("static skeptic binary: %v", err)
	}
	return bin
}

// isolateN3 is a schedule that cuts n3 off from n1 and n2 from 1s to 3.5s of the load.
const isolateN3 = `[
 {"at":"1s","f":"start-partition","value":{"strategy":"one","grudge":{"n3":["n1","n2"],"n1":["n3"],"n2":["n3"]}}},
 {"at":"3500ms","f":"stop-partition"}
]`

// e2eTest is a short test of a 3-node cluster: 4 s of load at 500 ops/s, each key shared by a worker on every
// node.
func e2eTest(t *testing.T, rt string) Test {
	tc := Default()
	tc.Runtime = rt
	tc.Nodes = 3
	tc.Concurrency = 6
	tc.TimeLimit = Duration(4 * time.Second)
	tc.Recovery = Duration(500 * time.Millisecond)
	tc.FinalReadTimeout = Duration(10 * time.Second)
	tc.CheckTimeout = Duration(20 * time.Second)
	tc.Store = t.TempDir()
	tc.Seed = 7
	// Below the node's 3 s request timeout: a worker whose request hangs on a cut-off node is freed (info) while
	// the partition still lasts.
	tc.OpTimeout = Duration(time.Second)
	tc.NodeBinary = nodeBinaryForTest(t)
	return tc
}

// TestRunEndToEnd runs the Paxos store on each runtime, correct (valid) and with the stale-reads flaw while n3
// is cut off (invalid), and checks the verdict, the exit code and every file of the run folder.
func TestRunEndToEnd(t *testing.T) {
	for _, rt := range []string{RuntimeLocal, RuntimeDocker} {
		for _, flaw := range []string{"", "stale-reads"} {
			name := rt + "/" + map[string]string{"": "correct", "stale-reads": "stale-reads"}[flaw]
			t.Run(name, func(t *testing.T) {
				requireRuntime(t, rt)
				tc := e2eTest(t, rt)
				tc.Flaw = flaw
				sched := filepath.Join(t.TempDir(), "schedule.json")
				if err := os.WriteFile(sched, []byte(isolateN3), 0o644); err != nil {
					t.Fatal(err)
				}
				tc.Nemesis.ScheduleFile = sched
				var out bytes.Buffer
				tc.Out = &out
				res, err := Run(context.Background(), tc)
				t.Logf("output:\n%s", out.String())
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				want := Valid
				if flaw != "" {
					want = Invalid
				}
				if res.Verdict != want {
					t.Fatalf("verdict %s, want %s", res.Verdict, want)
				}
				if code := ExitCode(res.Verdict, nil); code != map[Verdict]int{Valid: 0, Invalid: 1}[want] {
					t.Fatalf("exit code %d", code)
				}
				first := strings.SplitN(out.String(), "\n", 2)[0]
				if !strings.HasPrefix(first, "runtime: "+rt+" (") {
					t.Fatalf("first line %q does not say the runtime and why", first)
				}
				checkRunFolder(t, tc, res)
			})
		}
	}
}

// checkRunFolder checks the files of a finished run.
func checkRunFolder(t *testing.T, tc Test, res Result) {
	t.Helper()
	dir := res.Dir
	latest, err := filepath.EvalSymlinks(filepath.Join(tc.Store, LatestLink))
	if err != nil {
		t.Fatalf("store/latest: %v", err)
	}
	if real, _ := filepath.EvalSymlinks(dir); latest != real {
		t.Fatalf("store/latest -> %s, want %s", latest, real)
	}
	var cfg Test
	readJSON(t, filepath.Join(dir, ConfigFile), &cfg)
	if cfg.Seed != tc.Seed || cfg.Nodes != tc.Nodes || cfg.RuntimeUsed != tc.Runtime || len(cfg.Nemesis.Schedule) != 2 {
		t.Fatalf("config.json does not record the run: %+v", cfg)
	}
	evs, err := history.ReadFile(filepath.Join(dir, HistoryFile))
	if err != nil {
		t.Fatalf("history.jsonl: %v", err)
	}
	open := map[history.Process]bool{}
	var nemesisEvents, finalReads int
	for i, e := range evs {
		if e.Index != int64(i) {
			t.Fatalf("event %d has index %d", i, e.Index)
		}
		if e.Process == history.NemesisProcess {
			nemesisEvents++
			continue
		}
		if e.Type == history.Invoke {
			if open[e.Process] {
				t.Fatalf("process %d invoked twice without a completion (event %d)", e.Process, i)
			}
			open[e.Process] = true
			if int(e.Process) >= tc.Concurrency && e.F == "read" {
				finalReads++
			}
		} else {
			if !open[e.Process] {
				t.Fatalf("completion of process %d without an invocation (event %d)", e.Process, i)
			}
			open[e.Process] = false
		}
	}
	for p, o := range open {
		if o {
			t.Fatalf("process %d's last operation has no completion", p)
		}
	}
	if nemesisEvents < 4 {
		t.Fatalf("%d nemesis events, want the partition's start and stop (2 each) and the heal", nemesisEvents)
	}
	if finalReads < tc.Nodes {
		t.Fatalf("%d final reads, want at least one per node", finalReads)
	}
	var rj Result
	readJSON(t, filepath.Join(dir, ResultsFile), &rj)
	if rj.Verdict != res.Verdict || len(rj.Keys) == 0 || rj.Counts["read"]["ok"] == 0 {
		t.Fatalf("results.json: %+v", rj)
	}
	for _, k := range rj.Keys {
		if k.Verdict == Invalid {
			if k.Visualization == "" {
				t.Fatalf("invalid key %s has no visualization", k.Key)
			}
			if _, err := os.Stat(k.Visualization); err != nil {
				t.Fatalf("visualization of %s: %v", k.Key, err)
			}
		} else if k.Visualization != "" {
			t.Fatalf("valid key %s has a visualization", k.Key)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, LogFile)); err != nil || !bytes.HasPrefix(bytes.SplitN(b, []byte("\n"), 2)[0][13:], []byte("runtime: ")) {
		t.Fatalf("skeptic.log does not start with the runtime line: %v\n%.300s", err, b)
	}
	for i := 1; i <= tc.Nodes; i++ {
		p := filepath.Join(dir, NodesDir, fmt.Sprintf("n%d", i), "node.log")
		if st, err := os.Stat(p); err != nil || st.Size() == 0 {
			t.Fatalf("%s: %v (empty: %v)", p, err, err == nil)
		}
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestRunInterrupted cancels Run's context in the middle of the load, as SIGINT does in the CLI: Run must
// return ErrInterrupted, keep the history (every operation completed), write results.json, and leave no node
// process behind.
func TestRunInterrupted(t *testing.T) {
	requireRuntime(t, RuntimeLocal)
	tc := e2eTest(t, RuntimeLocal)
	tc.TimeLimit = Duration(time.Minute)
	r, w := io.Pipe()
	tc.Out = w
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type ret struct {
		res Result
		err error
	}
	done := make(chan ret, 1)
	go func() {
		res, err := Run(ctx, tc)
		w.Close()
		done <- ret{res, err}
	}()
	sc := bufio.NewScanner(r)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if strings.HasPrefix(sc.Text(), "load:") {
			time.AfterFunc(time.Second, cancel)
		}
	}
	var got ret
	select {
	case got = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not return within 60s of the cancel")
	}
	t.Logf("output:\n%s", strings.Join(lines, "\n"))
	if !errors.Is(got.err, ErrInterrupted) {
		t.Fatalf("Run error = %v, want ErrInterrupted", got.err)
	}
	if code := ExitCode(got.res.Verdict, got.err); code != ExitError {
		t.Fatalf("exit code %d, want %d", code, ExitError)
	}
	var rj Result
	readJSON(t, filepath.Join(got.res.Dir, ResultsFile), &rj)
	if !rj.Interrupted || rj.Verdict != Unknown {
		t.Fatalf("results.json of an interrupted run: %+v", rj)
	}
	evs, err := history.ReadFile(filepath.Join(got.res.Dir, HistoryFile))
	if err != nil || len(evs) < 10 {
		t.Fatalf("history: %d events, %v", len(evs), err)
	}
	if left := processesIn(got.res.Dir); len(left) > 0 {
		t.Fatalf("node processes left running in %s: %v", got.res.Dir, left)
	}
}

// processesIn lists the pids whose working directory is inside dir (the local runtime runs each node in its
// data folder under the run folder).
func processesIn(dir string) []string {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		real = dir
	}
	ents, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range ents {
		cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if err == nil && strings.HasPrefix(cwd, real+string(filepath.Separator)) {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestSIGINTLeavesNothing runs the skeptic binary, sends it SIGINT in the middle of the load, and checks that it
// exits 255 saying it was interrupted, and leaves no container, network or volume of its run (docker) and no
// node process (local) behind.
func TestSIGINTLeavesNothing(t *testing.T) {
	for _, c := range []struct {
		rt      string
		signals int
	}{{RuntimeLocal, 1}, {RuntimeDocker, 1}, {RuntimeDocker, 2}} {
		rt := c.rt
		t.Run(fmt.Sprintf("%s/%d-signals", rt, c.signals), func(t *testing.T) {
			requireRuntime(t, rt)
			bin := nodeBinaryForTest(t)
			store := t.TempDir()
			cmd := exec.Command(bin, "run", "--runtime", rt, "--nodes", "3", "--time-limit", "60s",
				"--store", store, "--seed", "11", "--nemesis", "partition", "--nemesis-interval", "1s")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			var runID string
			var lines []string
			sc := bufio.NewScanner(stdout)
			signalled := false
			for sc.Scan() {
				line := sc.Text()
				lines = append(lines, line)
				if strings.HasPrefix(line, "run ") {
					runID = strings.TrimSuffix(strings.Fields(line)[1], ":")
				}
				if strings.HasPrefix(line, "load:") && !signalled {
					signalled = true
					time.AfterFunc(2*time.Second, func() {
						cmd.Process.Signal(syscall.SIGINT)
						if c.signals > 1 {
							// The second signal forces the teardown at once, while the first is still running.
							time.Sleep(100 * time.Millisecond)
							cmd.Process.Signal(syscall.SIGINT)
						}
					})
				}
			}
			waitErr := make(chan error, 1)
			go func() { waitErr <- cmd.Wait() }()
			select {
			case err = <-waitErr:
			case <-time.After(90 * time.Second):
				t.Fatal("skeptic did not exit within 90s of SIGINT")
			}
			t.Logf("stdout:\n%s\nstderr:\n%s", strings.Join(lines, "\n"), stderr.String())
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != ExitError {
				t.Fatalf("exit: %v, want code %d", err, ExitError)
			}
			if !signalled || runID == "" {
				t.Fatal("the run never reached its load")
			}
			want := "interrupted"
			if c.signals > 1 {
				want = "forcing teardown"
			}
			if !strings.Contains(stderr.String(), want) {
				t.Fatalf("stderr does not say %q", want)
			}
			run := filepath.Join(store, "latest")
			if _, err := history.ReadFile(filepath.Join(run, HistoryFile)); err != nil {
				t.Fatalf("history of the interrupted run: %v", err)
			}
			if rt == RuntimeDocker {
				if left := dockerObjects(t, runID); len(left) > 0 {
					t.Fatalf("left behind by run %s: %v", runID, left)
				}
			} else if left := processesIn(run); len(left) > 0 {
				t.Fatalf("node processes left running: %v", left)
			}
		})
	}
}

// dockerObjects lists the containers, networks and volumes labelled with runID.
func dockerObjects(t *testing.T, runID string) []string {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx := context.Background()
	f := filters.NewArgs(filters.Arg("label", docker.LabelRun+"="+runID))
	var out []string
	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		out = append(out, "container "+strings.Join(c.Names, ","))
	}
	ns, err := cli.NetworkList(ctx, network.ListOptions{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		out = append(out, "network "+n.Name)
	}
	vs, err := cli.VolumeList(ctx, volume.ListOptions{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs.Volumes {
		out = append(out, "volume "+v.Name)
	}
	return out
}

// TestRunTestsCount runs a short local test twice (--test-count 2): two run folders, seeds s and s+1, and the
// worst exit code.
func TestRunTestsCount(t *testing.T) {
	requireRuntime(t, RuntimeLocal)
	tc := e2eTest(t, RuntimeLocal)
	tc.TimeLimit = Duration(time.Second)
	tc.Recovery = 0
	tc.TestCount = 2
	var out bytes.Buffer
	tc.Out = &out
	results, code, err := RunTests(context.Background(), tc)
	t.Logf("output:\n%s", out.String())
	if err != nil || code != ExitValid || len(results) != 2 {
		t.Fatalf("RunTests = %d results, exit %d, %v", len(results), code, err)
	}
	if results[0].Dir == results[1].Dir || results[0].Seed != tc.Seed || results[1].Seed != tc.Seed+1 {
		t.Fatalf("runs: %+v / %+v", results[0], results[1])
	}
	for _, r := range results {
		var cfg Test
		readJSON(t, filepath.Join(r.Dir, ConfigFile), &cfg)
		if cfg.Seed != r.Seed {
			t.Fatalf("config.json of %s records seed %d, want %d", r.Dir, cfg.Seed, r.Seed)
		}
	}
	if !strings.HasPrefix(out.String(), "runtime: local") || !strings.Contains(out.String(), "(test 2 of 2): seed 8,") {
		t.Fatalf("the first line is not the runtime's, or a run does not say which it is")
	}
	if !strings.Contains(out.String(), "2 runs: #1 valid (exit 0) #2 valid (exit 0)") {
		t.Fatalf("no summary of the runs")
	}
}

// TestRunPanicTearsDown makes Run panic once its cluster is up: Run must recover, tear the cluster down, close
// the history, and return an internal error (exit 255) that says so.
func TestRunPanicTearsDown(t *testing.T) {
	requireRuntime(t, RuntimeLocal)
	tc := e2eTest(t, RuntimeLocal)
	var out bytes.Buffer
	tc.Out = &out
	testHookClusterUp = func() { panic("test panic with the cluster up") }
	defer func() { testHookClusterUp = func() {} }()
	res, err := Run(context.Background(), tc)
	t.Logf("output:\n%s", out.String())
	var se *SetupError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "panic: test panic with the cluster up") {
		t.Fatalf("Run error = %v, want an internal error that names the panic", err)
	}
	if code := ExitCode(res.Verdict, err); code != ExitError {
		t.Fatalf("exit code %d", code)
	}
	dir, derr := filepath.EvalSymlinks(filepath.Join(tc.Store, LatestLink))
	if derr != nil {
		t.Fatal(derr)
	}
	if left := processesIn(dir); len(left) > 0 {
		t.Fatalf("node processes left running after the panic: %v", left)
	}
	if _, err := history.ReadFile(filepath.Join(dir, HistoryFile)); err != nil {
		t.Fatalf("history after the panic: %v", err)
	}
	log, _ := os.ReadFile(filepath.Join(dir, LogFile))
	if !bytes.Contains(log, []byte("teardown done")) {
		t.Fatalf("skeptic.log does not record the teardown:\n%s", log)
	}
}

// TestConsoleSurvivesPanickingWriter checks that console output whose writer panics is dropped, not raised: the
// console is used on the way out of a panic.
func TestConsoleSurvivesPanickingWriter(t *testing.T) {
	c := newConsole(panicOut{})
	if err := c.openLog(filepath.Join(t.TempDir(), LogFile)); err != nil {
		t.Fatal(err)
	}
	c.printf("one\n")
	c.printf("two\n")
	c.close()
}

type panicOut struct{}

func (panicOut) Write([]byte) (int, error) { panic("broken terminal") }

// TestRunCheckTimeoutUnknown gives the check no time: the verdict must be unknown (exit 2), never valid.
func TestRunCheckTimeoutUnknown(t *testing.T) {
	requireRuntime(t, RuntimeLocal)
	tc := e2eTest(t, RuntimeLocal)
	tc.TimeLimit = Duration(time.Second)
	tc.Recovery = 0
	tc.CheckTimeout = Duration(time.Nanosecond)
	var out bytes.Buffer
	tc.Out = &out
	res, err := Run(context.Background(), tc)
	t.Logf("output:\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != Unknown || ExitCode(res.Verdict, err) != ExitUnknown {
		t.Fatalf("verdict %s with a 1ns check timeout, want unknown", res.Verdict)
	}
	if !strings.Contains(out.String(), "verdict: unknown") {
		t.Fatal("the summary does not say unknown")
	}
}
