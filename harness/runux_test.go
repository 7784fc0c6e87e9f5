package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/harness/cluster"
	"github.com/skeptic-dev/skeptic/harness/docker"
	"github.com/skeptic-dev/skeptic/harness/local"
	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/nemesis"
)

// activeCluster returns the one cluster a Run of this test process has up.
func activeCluster(t *testing.T) cluster.Cluster {
	var c cluster.Cluster
	active.Range(func(_, v any) bool { c = v.(cluster.Cluster); return false })
	assert.NotNil(t, c, "no active cluster")
	return c
}

// TestRunNoticesItsContainersRemoved removes a docker run's containers under it (as `skeptic clean --all` from
// another shell would), and checks that the run ends with exit 255 and says why, rather than with a verdict.
func TestRunNoticesItsContainersRemoved(t *testing.T) {
	requireRuntime(t, RuntimeDocker)
	tc := e2eTest(t, RuntimeDocker)
	tc.TimeLimit = Duration(20 * time.Second)
	var out bytes.Buffer
	tc.Out = &out
	removed := make(chan error, 1)
	testHookClusterUp = func() {
		c := activeCluster(t).(*docker.Cluster)
		time.AfterFunc(3*time.Second, func() {
			// Someone else's `docker rm -f` of one node. (Removing the whole run here raced with the run's own
			// teardown once it noticed: two removals of the same objects, each failing on what the other held.)
			name, err := c.Container("n3")
			if err == nil {
				var rt *docker.Runtime
				if rt, err = docker.New(); err == nil {
					err = rt.Client().ContainerRemove(context.Background(), name, container.RemoveOptions{Force: true})
					rt.Close()
				}
			}
			removed <- err
		})
	}
	defer func() { testHookClusterUp = func() {} }()
	t0 := time.Now()
	res, err := Run(context.Background(), tc)
	t.Logf("output:\n%s", out.String())
	select {
	case rerr := <-removed:
		require.NoError(t, rerr)
	case <-time.After(10 * time.Second):
		// Without this, a run that fails before its cluster is up would leave the test waiting until go test's
		// timeout.
		require.FailNow(t, "the cluster never came up, so no node was removed", "Run: %v", err)
	}
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrClusterLost)
	assert.Contains(t, err.Error(), "was removed")
	assert.Equal(t, ExitError, ExitCode(res.Verdict, err))
	assert.Less(t, time.Since(t0), 18*time.Second, "the run went on to its time limit")
	assert.Contains(t, out.String(), "error: the cluster is gone")
	var rj Result
	readJSON(t, filepath.Join(res.Dir, ResultsFile), &rj)
	assert.Equal(t, Unknown, rj.Verdict)
	assert.Contains(t, rj.Error, "the cluster is gone")
}

// TestRunNoticesItsProcessesGone kills every node of a local run from outside the nemesis.
func TestRunNoticesItsProcessesGone(t *testing.T) {
	requireRuntime(t, RuntimeLocal)
	tc := e2eTest(t, RuntimeLocal)
	tc.TimeLimit = Duration(20 * time.Second)
	var out bytes.Buffer
	tc.Out = &out
	testHookClusterUp = func() {
		c := activeCluster(t).(*local.Cluster)
		var pids []int
		for _, n := range c.Nodes() {
			pid, err := c.PID(n.ID)
			require.NoError(t, err)
			pids = append(pids, pid)
		}
		time.AfterFunc(2*time.Second, func() {
			for _, p := range pids {
				_ = syscall.Kill(p, syscall.SIGKILL)
			}
		})
	}
	defer func() { testHookClusterUp = func() {} }()
	res, err := Run(context.Background(), tc)
	t.Logf("output:\n%s", out.String())
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrClusterLost)
	assert.Contains(t, err.Error(), "every node stopped, and not by the nemesis")
	assert.Equal(t, ExitError, ExitCode(res.Verdict, err))
}

// TestFaultsShownAsTheyHappen runs a partition schedule with a flaw that acts, and checks the console lines of
// each fault, results.json's faults and flaw acts, and the summary.
func TestFaultsShownAsTheyHappen(t *testing.T) {
	requireRuntime(t, RuntimeLocal)
	tc := e2eTest(t, RuntimeLocal)
	tc.Flaw = "stale-reads"
	tc.TimeLimit = Duration(6 * time.Second) // the partition ends at 3.5s of the nemesis's time, well inside the load
	sched := filepath.Join(t.TempDir(), "schedule.json")
	require.NoError(t, os.WriteFile(sched, []byte(isolateN3), 0o644))
	tc.Nemesis.ScheduleFile = sched
	var out bytes.Buffer
	tc.Out = &out
	res, err := Run(context.Background(), tc)
	t.Logf("output:\n%s", out.String())
	require.NoError(t, err)
	s := out.String()
	assert.Contains(t, s, "nemesis: 2 ops planned: 1 partition, the first at 1s (replayed from "+sched+")")
	assert.Regexp(t, `nemesis +\d+\.\d{3}s  start partition \(one\): n3 \| n1 n2\n`, s)
	assert.Regexp(t, `nemesis +\d+\.\d{3}s  end   partition healed \(after 2\.\ds\)\n`, s)
	assert.Contains(t, s, "faults (1):")
	assert.Contains(t, s, "flaw stale-reads acted (counted since each node's last start):")
	log, err := os.ReadFile(filepath.Join(res.Dir, LogFile))
	require.NoError(t, err)
	assert.Contains(t, string(log), "start partition (one): n3 | n1 n2")
	var rj Result
	readJSON(t, filepath.Join(res.Dir, ResultsFile), &rj)
	require.Len(t, rj.Faults, 1)
	assert.Equal(t, "partition", rj.Faults[0].Kind)
	assert.InDelta(t, 2.5, (rj.Faults[0].End - rj.Faults[0].Start).D().Seconds(), 0.5)
	require.Len(t, rj.FlawActs, 3)
	var acts uint64
	for _, v := range rj.FlawActs {
		acts += v
	}
	assert.Positive(t, acts, "stale-reads answered no read locally")
}

func TestPlanTextSaysWhatWillRun(t *testing.T) {
	tc := Default()
	tc.Nemesis.Faults = []string{"partition", "kill", "loss"}
	s := nemesis.Schedule{
		{At: nemesis.Duration(5 * time.Second), F: nemesis.FStartLoss, Value: json.RawMessage(`{"links":[],"percent":10}`)},
		{At: nemesis.Duration(15 * time.Second), F: nemesis.FStopLoss},
	}
	assert.Equal(t, "nemesis: 2 ops planned: 1 loss, the first at 5s (drawn from --nemesis partition,kill,loss; the seed drew no partition, kill this run)\n",
		planText(tc, s))
}

func TestAnnotateNotes(t *testing.T) {
	r := &run{t: Default()}
	r.t.Flaw = "early-ack"
	r.ux.flawActs = map[string]uint64{"n1": 1200, "n2": 0, "n3": 34}
	for range 3 {
		r.clientEvent(history.Event{Type: history.Info, Error: "timeout"})
	}
	res := Result{Verdict: Valid, Counts: map[string]map[string]int64{"read": {"ok": 10, "info": 30}, "write": {"ok": 5, "fail": 1, "info": 40}}}
	r.annotate(&res)
	require.Len(t, res.Notes, 2)
	assert.Equal(t, `70 of 86 operations (81%) ended unknown, so the verdict rests on the other 16; why: "timeout" ×3`, res.Notes[0])
	assert.Contains(t, res.Notes[1], "the flaw early-ack acted 1234 times, but no client observed an anomaly")
	var b strings.Builder
	printVerdict(&b, res)
	assert.Contains(t, b.String(), "verdict: valid")
	assert.Contains(t, b.String(), "note: the flaw early-ack acted 1234 times")

	// An invalid verdict needs no such note; few unknowns need none either.
	res = Result{Verdict: Invalid, Counts: map[string]map[string]int64{"read": {"ok": 10, "info": 1}}}
	r.annotate(&res)
	assert.Empty(t, res.Notes)
}

func TestRunReportListsFaultsAndFlawActs(t *testing.T) {
	res := Result{FlawActs: map[string]uint64{"n1": 3, "n10": 0, "n2": 4}}
	for i := range 25 {
		res.Faults = append(res.Faults, FaultRecord{Kind: "kill", What: "kill (one): n1", Start: Duration(time.Duration(i) * time.Second), End: Duration(time.Duration(i)*time.Second + 500*time.Millisecond)})
	}
	res.Faults[24].End = 0
	var b strings.Builder
	printRunReport(&b, res, "early-ack", "")
	s := b.String()
	assert.Contains(t, s, "faults (25):\n     0.0s to    0.5s  kill (one): n1\n")
	assert.Contains(t, s, "  ... and 5 more (all in results.json and skeptic.log)\n")
	assert.Contains(t, s, "flaw early-ack acted (counted since each node's last start): n1 3, n2 4, n10 0; 7 in all\n")

	// The correct store's zeros are not shown.
	b.Reset()
	printRunReport(&b, Result{FlawActs: map[string]uint64{"n1": 0}}, "none", "")
	assert.Empty(t, b.String())
}
