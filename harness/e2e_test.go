package harness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
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
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/harness/docker"
	"github.com/skeptic-dev/skeptic/history"
)

// The end-to-end tests run real clusters of the Paxos node: as local processes, and in Docker. Docker tests
// skip when no daemon answers, unless SKEPTIC_REQUIRE_DOCKER=1, where they fail. SKEPTIC_SKIP_E2E=1 skips
// them all (for a quick unit run), except where SKEPTIC_REQUIRE_DOCKER=1 (CI), which no switch overrides.

func skipE2E(t testing.TB) {
	t.Helper()
	if os.Getenv("SKEPTIC_REQUIRE_DOCKER") == "1" {
		return // CI: what it is meant to run, no switch skips
	}
	if testing.Short() || os.Getenv("SKEPTIC_SKIP_E2E") == "1" {
		t.Skip("end-to-end test (-short or SKEPTIC_SKIP_E2E=1)")
	}
}

func requireRuntime(t testing.TB, rt string) {
	t.Helper()
	skipE2E(t)
	if rt != RuntimeDocker {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := docker.Available(ctx); err != nil {
		require.NotEqual(t, "1", os.Getenv("SKEPTIC_REQUIRE_DOCKER"), "SKEPTIC_REQUIRE_DOCKER=1 but: %v", err)
		t.Skipf("no Docker: %v", err)
	}
}

// requireEtcd skips a test or benchmark of the etcd target when Debian's etcd-server is not installed, and fails it
// under SKEPTIC_REQUIRE_DOCKER=1 (CI installs it).
func requireEtcd(t testing.TB) {
	t.Helper()
	if _, err := os.Stat("/usr/bin/etcd"); err != nil {
		require.NotEqual(t, "1", os.Getenv("SKEPTIC_REQUIRE_DOCKER"), "SKEPTIC_REQUIRE_DOCKER=1 but Debian's etcd-server is not installed: %v", err)
		t.Skip("no /usr/bin/etcd (apt-get install etcd-server)")
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
	require.NoError(t, err, "static skeptic binary")
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
				require.NoError(t, os.WriteFile(sched, []byte(isolateN3), 0o644))
				tc.Nemesis.ScheduleFile = sched
				var out bytes.Buffer
				tc.Out = &out
				res, err := Run(context.Background(), tc)
				t.Logf("output:\n%s", out.String())
				require.NoError(t, err, "Run")
				want := Valid
				if flaw != "" {
					want = Invalid
				}
				require.Equal(t, want, res.Verdict)
				require.Equal(t, map[Verdict]int{Valid: 0, Invalid: 1}[want], ExitCode(res.Verdict, nil), "exit code")
				first := strings.SplitN(out.String(), "\n", 2)[0]
				require.Regexp(t, `^runtime: `+rt+` \(`, first, "the first line says the runtime and why")
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
	require.NoError(t, err, "store/latest")
	real, _ := filepath.EvalSymlinks(dir)
	require.Equal(t, real, latest, "store/latest")
	var cfg Test
	readJSON(t, filepath.Join(dir, ConfigFile), &cfg)
	require.Equal(t, tc.Seed, cfg.Seed, "config.json records the seed")
	require.Equal(t, tc.Nodes, cfg.Nodes, "config.json records the nodes")
	require.Equal(t, tc.Runtime, cfg.RuntimeUsed, "config.json records the runtime used")
	require.Len(t, cfg.Nemesis.Schedule, 2, "config.json records the schedule")
	evs, err := history.ReadFile(filepath.Join(dir, HistoryFile))
	require.NoError(t, err, "history.jsonl")
	open := map[history.Process]bool{}
	var nemesisEvents, finalReads int
	for i, e := range evs {
		require.Equal(t, int64(i), e.Index, "event %d's index", i)
		if e.Process == history.NemesisProcess {
			nemesisEvents++
			continue
		}
		if e.Type == history.Invoke {
			require.False(t, open[e.Process], "process %d invoked twice without a completion (event %d)", e.Process, i)
			open[e.Process] = true
			if int(e.Process) >= tc.Concurrency && e.F == "read" {
				finalReads++
			}
		} else {
			require.True(t, open[e.Process], "completion of process %d without an invocation (event %d)", e.Process, i)
			open[e.Process] = false
		}
	}
	for p, o := range open {
		require.False(t, o, "process %d's last operation has no completion", p)
	}
	require.GreaterOrEqual(t, nemesisEvents, 4, "nemesis events: the partition's start and stop (2 each) and the heal")
	require.GreaterOrEqual(t, finalReads, tc.Nodes, "final reads: at least one per node")
	var rj Result
	readJSON(t, filepath.Join(dir, ResultsFile), &rj)
	require.Equal(t, res.Verdict, rj.Verdict, "results.json's verdict")
	require.NotEmpty(t, rj.Keys, "results.json's keys")
	require.NotZero(t, rj.Counts["read"]["ok"], "results.json's ok reads")
	for _, k := range rj.Keys {
		if k.Verdict == Invalid {
			require.NotEmpty(t, k.Visualization, "invalid key %s has a visualization", k.Key)
			require.FileExists(t, k.Visualization, "visualization of %s", k.Key)
		} else {
			require.Empty(t, k.Visualization, "valid key %s has no visualization", k.Key)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, LogFile))
	require.NoError(t, err)
	first := bytes.SplitN(b, []byte("\n"), 2)[0]
	require.Greater(t, len(first), 13, "skeptic.log's first line: %.300s", b)
	require.True(t, bytes.HasPrefix(first[13:], []byte("runtime: ")), "skeptic.log starts with the runtime line:\n%.300s", b)
	for i := 1; i <= tc.Nodes; i++ {
		p := filepath.Join(dir, NodesDir, fmt.Sprintf("n%d", i), "node.log")
		st, err := os.Stat(p)
		require.NoError(t, err)
		require.NotZero(t, st.Size(), "%s is empty", p)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, v), path)
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
		require.FailNow(t, "Run did not return within 60s of the cancel")
	}
	t.Logf("output:\n%s", strings.Join(lines, "\n"))
	require.ErrorIs(t, got.err, ErrInterrupted)
	require.Equal(t, ExitError, ExitCode(got.res.Verdict, got.err), "exit code")
	var rj Result
	readJSON(t, filepath.Join(got.res.Dir, ResultsFile), &rj)
	require.True(t, rj.Interrupted, "results.json of an interrupted run: %+v", rj)
	require.Equal(t, Unknown, rj.Verdict, "results.json of an interrupted run")
	evs, err := history.ReadFile(filepath.Join(got.res.Dir, HistoryFile))
	require.NoError(t, err, "history")
	require.GreaterOrEqual(t, len(evs), 10, "history events")
	require.Empty(t, processesIn(got.res.Dir), "node processes left running in %s", got.res.Dir)
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
			require.NoError(t, err)
			require.NoError(t, cmd.Start())
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
				require.FailNow(t, "skeptic did not exit within 90s of SIGINT")
			}
			t.Logf("stdout:\n%s\nstderr:\n%s", strings.Join(lines, "\n"), stderr.String())
			var ee *exec.ExitError
			require.ErrorAs(t, err, &ee, "skeptic exits with a code")
			require.Equal(t, ExitError, ee.ExitCode(), "exit code")
			require.True(t, signalled && runID != "", "the run reached its load")
			want := "interrupted"
			if c.signals > 1 {
				want = "forcing teardown"
			}
			require.Contains(t, stderr.String(), want)
			run := filepath.Join(store, "latest")
			_, err = history.ReadFile(filepath.Join(run, HistoryFile))
			require.NoError(t, err, "history of the interrupted run")
			if rt == RuntimeDocker {
				require.Empty(t, dockerObjects(t, runID), "left behind by run %s", runID)
			} else {
				require.Empty(t, processesIn(run), "node processes left running")
			}
		})
	}
}

// dockerObjects lists the containers, networks and volumes labelled with runID.
func dockerObjects(t *testing.T, runID string) []string {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	require.NoError(t, err)
	defer cli.Close()
	ctx := context.Background()
	f := filters.NewArgs(filters.Arg("label", docker.LabelRun+"="+runID))
	var out []string
	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	require.NoError(t, err)
	for _, c := range cs {
		out = append(out, "container "+strings.Join(c.Names, ","))
	}
	ns, err := cli.NetworkList(ctx, network.ListOptions{Filters: f})
	require.NoError(t, err)
	for _, n := range ns {
		out = append(out, "network "+n.Name)
	}
	vs, err := cli.VolumeList(ctx, volume.ListOptions{Filters: f})
	require.NoError(t, err)
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
	require.NoError(t, err)
	require.Equal(t, ExitValid, code)
	require.Len(t, results, 2)
	assert.NotEqual(t, results[0].Dir, results[1].Dir, "two run folders")
	assert.Equal(t, tc.Seed, results[0].Seed)
	assert.Equal(t, tc.Seed+1, results[1].Seed)
	for _, r := range results {
		var cfg Test
		readJSON(t, filepath.Join(r.Dir, ConfigFile), &cfg)
		assert.Equal(t, r.Seed, cfg.Seed, "config.json of %s records the seed", r.Dir)
	}
	assert.Regexp(t, `^runtime: local`, out.String(), "the first line is the runtime's")
	assert.Contains(t, out.String(), "(test 2 of 2): seed 8,", "a run says which it is")
	assert.Contains(t, out.String(), "2 runs: #1 valid (exit 0) #2 valid (exit 0)", "a summary of the runs")
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
	require.ErrorAs(t, err, &se, "an internal error")
	require.ErrorContains(t, err, "panic: test panic with the cluster up")
	require.Equal(t, ExitError, ExitCode(res.Verdict, err), "exit code")
	dir, derr := filepath.EvalSymlinks(filepath.Join(tc.Store, LatestLink))
	require.NoError(t, derr)
	assert.Empty(t, processesIn(dir), "node processes left running after the panic")
	_, err = history.ReadFile(filepath.Join(dir, HistoryFile))
	assert.NoError(t, err, "history after the panic")
	log, _ := os.ReadFile(filepath.Join(dir, LogFile))
	assert.Contains(t, string(log), "teardown done", "skeptic.log records the teardown")
}

// TestConsoleSurvivesPanickingWriter checks that console output whose writer panics is dropped, not raised: the
// console is used on the way out of a panic.
func TestConsoleSurvivesPanickingWriter(t *testing.T) {
	c := newConsole(panicOut{})
	require.NoError(t, c.openLog(filepath.Join(t.TempDir(), LogFile)))
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
	require.NoError(t, err)
	require.Equal(t, Unknown, res.Verdict, "verdict with a 1ns check timeout")
	require.Equal(t, ExitUnknown, ExitCode(res.Verdict, err))
	assert.Contains(t, out.String(), "verdict: unknown", "the summary says unknown")
}
