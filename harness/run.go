package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	"github.com/skeptic-dev/skeptic/nemesis"
	"github.com/skeptic-dev/skeptic/targets"
)

// Verdict is the outcome of a check, three-valued as Porcupine's: a checker that runs out of time says unknown,
// never valid.
type Verdict string

// The verdicts.
const (
	Valid   Verdict = "valid"
	Invalid Verdict = "invalid"
	Unknown Verdict = "unknown"
)

// KeyResult is the verdict on one key's history.
type KeyResult struct {
	// Key is the register's key.
	Key string `json:"key"`
	// Verdict is valid, invalid or unknown.
	Verdict Verdict `json:"verdict"`
	// Ops is the number of operations of the key that were checked.
	Ops int `json:"ops"`
	// Pruned is the number of unknown operations of the key left out of the check because nothing observed
	// their values (which cannot change the verdict; see the checker).
	Pruned int `json:"pruned,omitempty"`
	// Visualization is the path of the key's Porcupine visualization, written for keys that were not valid.
	Visualization string `json:"visualization,omitempty"`
}

// Result is what Run (or an offline check) found. Run writes it to the run folder as results.json.
//
// Written as results.json, its fields are a documented, stable schema (README, "results.json"): fields may be
// added, never renamed or removed, without raising ResultsSchema.
type Result struct {
	// Schema is the version of results.json's schema, ResultsSchema.
	Schema int `json:"schema"`
	// Verdict is the verdict on the whole history: invalid if any key is, else unknown if any key is, else valid.
	Verdict Verdict `json:"verdict"`
	// Interrupted is set when a signal (ctx) ended the run before its time limit; the history is kept, but not
	// checked.
	Interrupted bool `json:"interrupted,omitempty"`
	// Test is the test's name, RunID the run's id (the label of its containers), Dir the run folder.
	Test  string `json:"test,omitempty"`
	RunID string `json:"run_id,omitempty"`
	Dir   string `json:"dir,omitempty"`
	// Runtime is the runtime used, and Seed the run's seed.
	Runtime string `json:"runtime,omitempty"`
	Seed    int64  `json:"seed"`
	// Counts counts completions by function and outcome: Counts["read"]["ok"]. Nemesis events are not counted.
	Counts map[string]map[string]int64 `json:"counts"`
	// Ops is the number of operations invoked by workers (final reads included).
	Ops int64 `json:"ops"`
	// OpsPerSecond is the completion rate during the load phase.
	OpsPerSecond float64 `json:"ops_per_second"`
	// FirstOp is the time from the start of Run to the first operation's invocation (cluster start included).
	FirstOp Duration `json:"first_op"`
	// CheckTime is how long the linearizability check took.
	CheckTime Duration `json:"check_time"`
	// Keys holds the verdict of each key, invalid and unknown keys first.
	Keys []KeyResult `json:"keys"`
	// Paths names the run's files: config, history, results, log, nodes, visualizations.
	Paths map[string]string `json:"paths,omitempty"`
	// Error is the check's error, when it could not run.
	Error string `json:"error,omitempty"`
	// HealError says what could not be undone after the load (a node that did not restart, a partition that
	// stayed), so the final reads ran on a cluster still (partly) faulty; the history's "heal" event says it
	// too.
	HealError string `json:"heal_error,omitempty"`
	// Warnings says what of the input the check left out, such as a torn final line of a history file.
	Warnings []string `json:"warnings,omitempty"`
	// Faults lists the faults the nemesis applied; FlawActs is each node's flaw_acts at the end (targets that
	// count them); Notes says what the verdict alone does not (runux.go).
	Faults   []FaultRecord     `json:"faults,omitempty"`
	FlawActs map[string]uint64 `json:"flaw_acts,omitempty"`
	Notes    []string          `json:"notes,omitempty"`
	// Detection is the first key the online check proved not linearizable while the run went on (with
	// --fail-fast, the one that stopped it); OnlineChecked counts the keys checked online.
	Detection     *Detection `json:"detection,omitempty"`
	OnlineChecked int64      `json:"online_checked,omitempty"`
	// Availability is the fraction of the load's operations that succeeded, overall and outside fault windows.
	Availability *Availability `json:"availability,omitempty"`
}

// ResultsSchema is the version of results.json's schema.
const ResultsSchema = 1

// MarshalJSON writes the result with its schema version.
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result
	p := plain(r)
	p.Schema = ResultsSchema
	return json.Marshal(p)
}

// ErrInterrupted is returned by Run when ctx ended before the test did (SIGINT, SIGTERM). The cluster has been
// torn down (unless --leave-db-running) and the history kept.
var ErrInterrupted = errors.New("interrupted")

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
	// (0 while it runs); completions are the load's ended client operations, for the availability.
	on          *online
	loadEnd     atomic.Int64
	complMu     sync.Mutex
	invokedAt   map[history.Process]int64
	completions []completion
	// ux is what the run reports to its user beyond the operations (runux.go).
	ux runUX
}

// Run runs one test: it chooses the runtime, creates the run folder, starts the cluster, runs the workers (and
// the nemesis) for the time limit, heals, waits for recovery, reads every key from every node, tears the cluster
// down, checks the history and writes results.json. The teardown happens on every path out: success, error,
// panic and ctx's end.
//
// The error is a *ConfigError for a bad Test, ErrInterrupted (wrapped) when ctx ended first, and otherwise a
// *SetupError naming the step that failed; ExitCode maps it, with the verdict, to the exit code.
func Run(ctx context.Context, t Test) (res Result, err error) {
	if err := t.Validate(); err != nil {
		return Result{Verdict: Unknown}, err
	}
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
		return res, configErrorf("--runtime", "target %s does not run on the %s runtime (it runs on %s)", target.Name(), rt.Name(), strings.Join(target.Spec().Runtimes, ", "))
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
			return res, configErrorf("--store", "%s: %v", t.Store, err)
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
			var ce *ConfigError
			if errors.As(err, &ce) {
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
			return res, configErrorf("--subnet", "%v", err)
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
		case <-time.After(50 * time.Millisecond):
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
	r.recordCompletion(e)
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

// versions records what ran the test.
func versions() map[string]string {
	v := map[string]string{"skeptic": Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v["go"] = bi.GoVersion
	}
	return v
}

// Version returns skeptic's version: the module version, or the VCS revision it was built from.
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		return rev + dirty
	}
	if v == "" {
		v = "devel"
	}
	return v
}

// writeJSON writes v, indented, to path, and fsyncs it.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// console writes the run's messages to the terminal and to skeptic.log. Lines written before the log is open
// are kept and copied into it when it opens, so skeptic.log starts with the runtime line too.
type console struct {
	mu    sync.Mutex
	out   io.Writer
	log   *os.File
	early []byte
	// barShown is set while a live progress line is on the terminal: printf clears it first, and the next
	// redraw puts it back under the printed line.
	barShown bool
}

// bar draws the live progress line in place of the previous one; "" removes it.
func (c *console) bar(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.write("\r\033[K" + line)
	c.barShown = line != ""
}

// write writes s to the terminal. A writer that panics is dropped (the log keeps every line): the console is
// used on the way out of a panic, so it must not panic itself.
func (c *console) write(s string) {
	defer func() {
		if p := recover(); p != nil {
			c.out = io.Discard
			c.toLog(fmt.Sprintf("console output dropped after its writer panicked: %v\n", p))
		}
	}()
	io.WriteString(c.out, s)
}

func newConsole(out io.Writer) *console { return &console{out: out} }

func (c *console) openLog(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := f.Write(c.early); err != nil {
		f.Close()
		return err
	}
	c.early = nil
	c.log = f
	return nil
}

// printf writes to the terminal and the log.
func (c *console) printf(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.toLog(s)
	if c.barShown {
		c.write("\r\033[K")
		c.barShown = false
	}
	c.write(s)
}

// logf writes to the log only.
func (c *console) logf(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.toLog(s)
}

func (c *console) toLog(s string) {
	// Every line gets the time, so that skeptic.log reads as a timeline.
	stamp := time.Now().UTC().Format("15:04:05.000 ")
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for _, l := range lines {
		if l != "" {
			b.WriteString(stamp + l)
		}
	}
	stamped := b.String()
	if c.log != nil {
		c.log.WriteString(stamped)
	} else {
		c.early = append(c.early, stamped...)
	}
}

// logWriter is an io.Writer onto printf, for the runtime's progress lines.
func (c *console) logWriter() io.Writer { return consoleWriter{c} }

type consoleWriter struct{ c *console }

// Write prints p on the console and in the log.
func (w consoleWriter) Write(p []byte) (int, error) { w.c.printf("%s", p); return len(p), nil }

func (c *console) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.log != nil {
		c.log.Sync()
		c.log.Close()
		c.log = nil
	}
}
