package harness

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/skeptic-dev/skeptic/harness/cluster"
	"github.com/skeptic-dev/skeptic/harness/docker"
	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/internal/field"
	"github.com/skeptic-dev/skeptic/nemesis"
	"github.com/skeptic-dev/skeptic/targets"
)

// testHookClusterUp runs right after the cluster is up, and testHookLoadDone right after the load (with the
// nemesis's faults possibly still in place); tests set them to make Run panic there.
var testHookClusterUp, testHookLoadDone = func() {}, func() {}

// teardownTimeout bounds the teardown, which runs even when ctx has ended.
const teardownTimeout = 90 * time.Second

// active holds the clusters of runs in progress, so that a second signal can force them down (ForceTeardown).
var active sync.Map // runID -> cluster.Cluster

// ForceTeardown tears down, at once and concurrently, every cluster a Run in this process has started and not
// yet torn down. The CLI calls it when a second signal arrives, before it exits.
func ForceTeardown(ctx context.Context) error {
	var errs []error
	var mu sync.Mutex
	var wg sync.WaitGroup
	active.Range(func(k, v any) bool {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := v.(cluster.Cluster).Teardown(ctx); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("run %s: %w", k, err))
				mu.Unlock()
			}
		}()
		return true
	})
	wg.Wait()
	return errors.Join(errs...)
}

// run is the state of one Run.
type run struct {
	t     Test
	start time.Time // the run's monotonic base
	con   *console
	dir   RunDir
	runID string

	target  targets.Target
	rec     *history.Recorder
	counts  counts
	clu     cluster.Cluster
	nem     *nemesis.Nemesis
	healed  bool   // the nemesis's HealAll succeeded
	healErr string // the last HealAll's failure
	rt      string

	keysMu   sync.Mutex
	keys     map[string]struct{}
	firstOp  atomic.Int64 // ns since start of the first invoke; 0 until then
	ops      atomic.Int64
	perF     sync.Map // f -> *[3]atomic.Int64 (ok, fail, info)
	loadRate float64
	// maxProcess is the highest worker process number at the end of the load.
	maxProcess int
	// clockOffset is how long after the start of Run the run's clock (the history's time origin) started.
	clockOffset time.Duration

	// on checks retired keys while the load goes on (online.go); loadEnd is the history time the load ended at
	// (0 while it runs).
	on      *online
	loadEnd atomic.Int64
	// ux is what the run reports to its user beyond the operations (faultlog.go, notes.go, watch.go).
	ux runUX
}

// Run runs one test: it chooses the runtime, creates the run folder, starts the cluster, runs the workers (and
// the nemesis) for the time limit, heals, waits for recovery, reads every key from every node, tears the cluster
// down, checks the history and writes results.json. The teardown happens on every path out: success, error,
// panic and ctx's end.
//
// The error is a *field.Error for a bad Test, ErrInterrupted (wrapped) when ctx ended first, and otherwise a
// *SetupError naming the step that failed; ExitCode maps it, with the verdict, to the exit code.
func Run(ctx context.Context, t Test) (res Result, err error) {
	t, err = prepare(t)
	if err != nil {
		return Result{Verdict: Unknown}, err
	}
	return runPrepared(ctx, t)
}

// prepare applies the Test's defaults (WithDefaults) and validates it: what every entry point (Run, RunTests,
// RunMatrix, Shrink) does once, before it runs the test once or many times with runPrepared.
func prepare(t Test) (Test, error) {
	t = t.WithDefaults()
	return t, t.Validate()
}

// runPrepared is Run for a Test that prepare has passed.
func runPrepared(ctx context.Context, t Test) (res Result, err error) {
	out := t.Out
	if out == nil {
		out = os.Stdout
	}
	r := &run{t: t, start: time.Now(), con: newConsole(out), keys: map[string]struct{}{}}
	defer r.con.close()
	defer func() {
		if p := recover(); p != nil {
			r.teardown()
			r.closeHistory()
			// The result still says which run this was and where its folder is.
			res = Result{Verdict: Unknown, Seed: r.t.Seed, Test: r.t.TestName(), RunID: r.runID, Dir: r.dir.Path, Runtime: r.rt}
			if r.dir.Path != "" {
				res.Paths = r.paths()
			}
			err = &SetupError{Stage: "internal error", Err: fmt.Errorf("panic: %v\n%s", p, debug.Stack())}
			r.con.logf("%v\n", err)
			if r.dir.Path != "" {
				r.fillCounts(&res)
				res.Error = fmt.Sprintf("internal error: panic: %v", p)
				_ = writeJSON(r.dir.File(ResultsFile), res)
			}
		}
	}()
	res, err = r.run(ctx)
	if err != nil && r.dir.Path != "" {
		// Whatever stopped the run, its folder says so: results.json records the error with the counts so far.
		if _, serr := os.Stat(r.dir.File(ResultsFile)); errors.Is(serr, os.ErrNotExist) {
			r.fillCounts(&res)
			res.Verdict = Unknown
			if res.Error == "" {
				res.Error = err.Error()
			}
			_ = writeJSON(r.dir.File(ResultsFile), res)
		}
	}
	return res, err
}

func (r *run) run(ctx context.Context) (Result, error) {
	t := &r.t
	res := Result{Verdict: Unknown, Seed: t.Seed, Test: t.TestName()}

	// 1. The runtime: the first line printed says which one, and why.
	rt, why, err := chooseRuntime(ctx, *t)
	if err != nil {
		return res, err
	}
	if c, ok := rt.(interface{ Close() error }); ok {
		defer c.Close() // after the teardown, which the runtime's client serves
	}
	r.rt = rt.Name()
	t.RuntimeUsed = rt.Name()
	res.Runtime = rt.Name()
	r.con.printf("runtime: %s (%s)\n", rt.Name(), why)

	// 2. The target and the workload, from the config alone.
	target, err := newTarget(*t)
	if err != nil {
		return res, err
	}
	r.target = target
	if !target.Spec().RunsOn(rt.Name()) && rt.Name() != RuntimeNone && len(t.Attach) == 0 {
		return res, field.Errorf("runtime", "target %s does not run on the %s runtime (it runs on %s)", target.Name(), rt.Name(), strings.Join(target.Spec().Runtimes, ", "))
	}
	wl, err := newWorkload(*t)
	if err != nil {
		return res, err
	}
	// The fault schedule, and what the runtime must be able to do, are checked before anything is created: bad
	// input leaves no run folder behind.
	sched, err := prepareNemesis(*t, target)
	if err != nil {
		return res, err
	}
	if err := r.preflight(ctx, rt, sched); err != nil {
		return res, err
	}

	// 3. The run folder, its log, and the config as it will run.
	r.dir, err = CreateRunDir(t.Store, t.TestName(), time.Now(), t.nodeIDs())
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.ENOTDIR) {
			return res, field.Errorf("store", "%s: %v", t.Store, err)
		}
		return res, setupErr("store", err)
	}
	r.runID = runID(r.dir.Stamp, t.Seed)
	res.RunID, res.Dir = r.runID, r.dir.Path
	res.Paths = r.paths()
	if err := r.con.openLog(r.dir.File(LogFile)); err != nil {
		return res, setupErr("create skeptic.log", err)
	}
	r.con.printf("run %s%s: seed %d, folder %s\n", r.runID, t.of, t.Seed, r.dir.Path)
	t.Versions = versions()
	t.Name = t.TestName()
	t.Nemesis.Schedule = sched.raw()
	if sched != nil {
		t.Nemesis.Options = sched.options
	}
	if err := writeJSON(r.dir.File(ConfigFile), t); err != nil {
		return res, setupErr("write config.json", err)
	}
	r.rec, err = history.Create(r.dir.File(HistoryFile), r.start)
	if err != nil {
		return res, setupErr("create history", err)
	}
	defer r.closeHistory()
	r.rec.OnRecord(r.observe)

	// 4. The node program and the cluster. From here on the cluster is torn down on every path out.
	ts := target.Spec()
	cspec := cluster.Spec{
		RunID: r.runID, Target: target, Nodes: t.Nodes, RunDir: r.dir.Path,
		KeepData: t.KeepData, Subnet: t.Subnet, Log: r.con.logWriter(),
		ClientPort: ts.ClientPort, PeerPort: ts.PeerPort, DataDir: ts.DataDir, ReadyTimeout: ts.Ready.Timeout.D(),
	}
	if !t.external() {
		bin, image, err := nodeProgram(ctx, *t, target, r.con)
		if err != nil {
			if IsConfigError(err) {
				return res, err
			}
			return res, setupErr("node binary", err)
		}
		cspec.Binary, cspec.Image = bin, image
		r.con.printf("starting %d %s nodes on %s\n", t.Nodes, target.Name(), rt.Name())
	}
	clu, err := rt.Start(ctx, cspec)
	if err != nil {
		if ctx.Err() != nil {
			return r.interrupted(res)
		}
		if errors.Is(err, docker.ErrSubnet) {
			return res, field.Errorf("subnet", "%v", err)
		}
		return res, setupErr("start cluster", err)
	}
	r.clu = clu
	active.Store(r.runID, clu)
	defer r.teardown()
	testHookClusterUp()
	for _, n := range clu.Nodes() {
		r.con.logf("node %s at %s\n", n.ID, n.ClientURL)
	}
	if err := awaitReadyHTTP(ctx, ts, clu.Nodes()); err != nil {
		return res, setupErr("start cluster", err)
	}
	if err := r.bindNemesis(sched); err != nil {
		return res, err
	}
	r.awaitLeader(ctx)
	if ctx.Err() != nil {
		return r.interrupted(res)
	}

	// 5. The load, with the nemesis beside it, and a watch on the cluster.
	lctx, unwatch := r.watchCluster(ctx)
	defer unwatch()
	// One clock: the history's times, the schedule's and the nemesis's all count from the start of the load.
	if err := r.startClock(); err != nil {
		return res, setupErr("history", err)
	}
	lctx, stopLoad := context.WithCancel(lctx)
	defer stopLoad()
	r.startOnline(stopLoad)
	loadErr := r.load(lctx, wl, sched)
	r.loadEnd.Store(max(1, r.rec.Since()))
	if r.on != nil {
		r.on.close()
	}
	testHookLoadDone()
	if err := r.lost(); err != nil {
		return res, err
	}
	if loadErr != nil {
		return res, loadErr
	}
	if ctx.Err() != nil {
		return r.interrupted(res)
	}

	// 6. Heal, recover, read every key from every node.
	if err := r.finalRead(lctx); err != nil {
		return res, err
	}
	if err := r.lost(); err != nil {
		return res, err
	}
	if ctx.Err() != nil {
		return r.interrupted(res)
	}
	unwatch()
	r.readFlawActs(ctx)

	// 7. Teardown, then the check.
	r.teardown()
	if err := r.closeHistory(); err != nil {
		return res, setupErr("close history", err)
	}
	return r.check(ctx, res)
}

// interrupted ends a run that ctx stopped: teardown (by the caller's defers), the history kept, a results.json
// that says so.
func (r *run) interrupted(res Result) (Result, error) {
	r.con.printf("interrupted: tearing down; the history so far is kept in %s\n", r.dir.Path)
	if r.clu != nil {
		r.healAll(context.Background())
	}
	r.teardown()
	_ = r.closeHistory()
	res.Interrupted = true
	res.Verdict = Unknown
	r.fillCounts(&res)
	if r.dir.Path != "" {
		_ = writeJSON(r.dir.File(ResultsFile), res)
	}
	return res, fmt.Errorf("%w: run %s stopped before its end; history kept in %s", ErrInterrupted, r.runID, r.dir.Path)
}

// leaderWait bounds how long a run waits for its new cluster to elect a leader before the load starts.
const leaderWait = 15 * time.Second

// awaitLeader waits until a majority of the nodes names one leader (a target with the status capability), so
// that the load starts on a cluster that can serve it, as Jepsen's setup waits for its databases. A cluster that
// elects none in time is tested anyway: that is a finding, not a setup failure.
func (r *run) awaitLeader(ctx context.Context) {
	if !targets.Has(r.target, targets.CapStatus) {
		return
	}
	t0 := time.Now()
	sc := r.statusCluster()
	var err error
	for time.Since(t0) < leaderWait && ctx.Err() == nil {
		var l string
		if l, err = sc.Leader(ctx); err == nil {
			r.con.printf("leader %s elected %s after the nodes came up\n", l, time.Since(t0).Round(time.Millisecond))
			return
		}
		select {
		case <-time.After(10 * time.Millisecond): // a leader is usually elected within 100 ms of the nodes' start
		case <-ctx.Done():
		}
	}
	if ctx.Err() == nil {
		r.con.printf("no leader after %s (%v); starting the load anyway\n", leaderWait, err)
	}
}

// teardown removes the cluster (once), unless --leave-db-running.
func (r *run) teardown() {
	if r.clu == nil {
		return
	}
	if r.t.LeaveDBRunning && !r.healed {
		// The cluster outlives the run: whatever path led here (an error, a panic), no fault may stay in it.
		r.healAll(context.Background())
	}
	clu := r.clu
	r.clu = nil
	if r.t.LeaveDBRunning {
		if d, ok := clu.(detacher); ok {
			active.Delete(r.runID)
			if err := d.Detach(); err != nil {
				r.con.printf("--leave-db-running: %v; the cluster may not outlive this skeptic\n", err)
			}
			r.con.printf("--leave-db-running: cluster %s left running; remove it with: skeptic clean --run %s\n", r.runID, r.runID)
			for _, n := range clu.Nodes() {
				r.con.printf("  %s %s\n", n.ID, n.ClientURL)
			}
			return
		}
		r.con.printf("--leave-db-running: the %s runtime cannot leave its nodes running after skeptic exits; tearing down\n", r.rt)
	}
	ctx, cancel := context.WithTimeout(context.Background(), teardownTimeout)
	defer cancel()
	t0 := time.Now()
	if err := clu.Teardown(ctx); err != nil {
		r.con.printf("teardown of %s: %v\n", r.runID, err)
		r.con.printf("  remove what is left with: skeptic clean --run %s\n", r.runID)
	} else {
		r.con.logf("teardown done in %s\n", time.Since(t0).Round(time.Millisecond))
	}
	active.Delete(r.runID)
}

// startClock starts the run's clock, the history's time origin, now, at the start of the load, and tells the
// nemesis, so that a schedule's times are history times.
func (r *run) startClock() error {
	now := time.Now()
	if err := r.rec.SetBase(now); err != nil {
		return err
	}
	r.clockOffset = now.Sub(r.start)
	if r.nem != nil {
		r.nem.SetBase(now)
	}
	return nil
}

// closeHistory fsyncs and closes the history file (idempotent).
func (r *run) closeHistory() error {
	if r.rec == nil {
		return nil
	}
	return r.rec.Close()
}

// observe is the recorder hook: counts, keys and the time of the first op.
func (r *run) observe(e history.Event) {
	if e.Process == history.NemesisProcess {
		r.nemesisEvent(e)
		return
	}
	r.counts.observe(e)
	if r.on != nil {
		r.on.observe(e)
	}
	if e.Type == history.Invoke {
		r.ops.Add(1)
		r.firstOp.CompareAndSwap(0, max(e.Time, 1))
		if e.Key != "" {
			r.keysMu.Lock()
			r.keys[e.Key] = struct{}{}
			r.keysMu.Unlock()
		}
		return
	}
	r.clientEvent(e)
	v, _ := r.perF.LoadOrStore(e.F, new([3]atomic.Int64))
	c := v.(*[3]atomic.Int64)
	switch e.Type {
	case history.Ok:
		c[0].Add(1)
	case history.Fail:
		c[1].Add(1)
	case history.Info:
		c[2].Add(1)
	}
}

func (r *run) fillCounts(res *Result) {
	res.Counts = map[string]map[string]int64{}
	r.perF.Range(func(k, v any) bool {
		c := v.(*[3]atomic.Int64)
		res.Counts[k.(string)] = map[string]int64{"ok": c[0].Load(), "fail": c[1].Load(), "info": c[2].Load()}
		return true
	})
	res.Ops = r.ops.Load()
	res.OpsPerSecond = r.loadRate
	if f := r.firstOp.Load(); f > 0 {
		res.FirstOp = Duration(r.clockOffset + time.Duration(f))
	}
	res.HealError = r.healErr
}

// sortedKeys returns every key an operation was invoked on.
func (r *run) sortedKeys() []string {
	r.keysMu.Lock()
	defer r.keysMu.Unlock()
	ks := make([]string, 0, len(r.keys))
	for k := range r.keys {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return keyLess(ks[i], ks[j]) })
	return ks
}

// keyLess orders k2 before k10.
func keyLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

func (r *run) paths() map[string]string {
	return map[string]string{
		"dir":     r.dir.Path,
		"config":  r.dir.File(ConfigFile),
		"history": r.dir.File(HistoryFile),
		"results": r.dir.File(ResultsFile),
		"log":     r.dir.File(LogFile),
		"nodes":   r.dir.File(NodesDir),
	}
}

// runID names the run's containers and networks: its folder's timestamp and a short hash of the seed and the
// clock, lower case, so that two runs in the same second differ.
func runID(stamp string, seed int64) string {
	h := rand.New(rand.NewPCG(uint64(seed), uint64(time.Now().UnixNano()))).Uint32()
	return fmt.Sprintf("%s-%04x", strings.ToLower(stamp), h&0xffff)
}

// detacher is a cluster that can outlive this process (--leave-db-running): Detach gives up the cluster's
// automatic removal (the docker runtime's reaper) without removing anything.
type detacher interface {
	Detach() error
}
