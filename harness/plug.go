package harness

// This file is where the harness meets the packages it drives: the target, the workload, the runtimes, the
// nemesis and the checker. Each function turns the Test into what that package needs.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/skeptic-dev/skeptic/checker"
	"github.com/skeptic-dev/skeptic/harness/cluster"
	"github.com/skeptic-dev/skeptic/harness/docker"
	"github.com/skeptic-dev/skeptic/harness/local"
	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/nemesis"
	"github.com/skeptic-dev/skeptic/report"
	"github.com/skeptic-dev/skeptic/targets"
	"github.com/skeptic-dev/skeptic/targets/httpkv"
	"github.com/skeptic-dev/skeptic/workloads"
)

// newWorkload builds the generator; its per-worker streams derive from the run's seed.
func newWorkload(t Test) (workloads.Workload, error) {
	perKey := t.WorkersPerKey
	if perKey == 0 {
		perKey = min(t.Nodes, t.Concurrency)
	}
	wl, err := workloads.New(t.Workload, workloads.Config{
		Seed: t.Seed, Workers: t.Concurrency, OpsPerKey: t.OpsPerKey, WorkersPerKey: perKey,
		ReadRatio: t.ReadRatio, WriteRatio: t.WriteRatio, CASRatio: t.CASRatio,
	})
	if err != nil {
		return nil, asConfigError(err)
	}
	return wl, nil
}

// asConfigError turns an error of the form "--flag: message" into a *ConfigError.
func asConfigError(err error) error {
	s := err.Error()
	if strings.HasPrefix(s, "--") {
		if i := strings.Index(s, ": "); i > 0 {
			return &ConfigError{Flag: s[:i], Msg: s[i+2:]}
		}
	}
	return &ConfigError{Msg: s}
}

// chooseRuntime resolves --runtime, and says why it chose what it did.
func chooseRuntime(ctx context.Context, t Test) (cluster.Runtime, string, error) {
	name := t.Runtime
	if len(t.Attach) > 0 {
		name = RuntimeDocker // containers are attached through Docker, whatever auto would find
	}
	switch name {
	case RuntimeDocker:
		if len(t.Attach) > 0 {
			rt, why, err := dockerRuntime(ctx)
			if err != nil {
				return nil, "", setupErr("runtime docker", err)
			}
			return attachRuntime{rt.(*docker.Runtime), t.Attach}, why + "; attaching " + sortedOptions(t.Attach), nil
		}
	}
	switch name {
	case RuntimeNone:
		return noneRuntime{endpoints: t.Endpoints}, fmt.Sprintf("a running cluster at %s; no faults, no lifecycle", sortedOptions(t.Endpoints)), nil
	case RuntimeDocker:
		rt, why, err := dockerRuntime(ctx)
		if err != nil {
			return nil, "", setupErr("runtime docker", err)
		}
		return rt, why, nil
	case RuntimeLocal:
		return local.New(), "asked for with --runtime local", nil
	default:
		rt, why, err := dockerRuntime(ctx)
		if err == nil {
			return rt, why, nil
		}
		reason := strings.TrimSuffix(err.Error(), "; start it, or use --runtime local")
		if !strings.HasPrefix(reason, "no Docker daemon") {
			reason = "no Docker daemon: " + reason
		}
		return local.New(), reason, nil
	}
}

// dockerRuntime returns the docker runtime when a daemon answers, with the daemon's address and API version.
func dockerRuntime(ctx context.Context) (cluster.Runtime, string, error) {
	if err := docker.Available(ctx); err != nil {
		return nil, "", err
	}
	rt, err := docker.New()
	if err != nil {
		return nil, "", err
	}
	cli := rt.Client()
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ping, err := cli.Ping(pctx)
	if err != nil {
		rt.Close()
		return nil, "", fmt.Errorf("no Docker daemon at %s: %v; start it, or use --runtime local", cli.DaemonHost(), err)
	}
	return rt, fmt.Sprintf("daemon at %s answered, API %s", cli.DaemonHost(), ping.APIVersion), nil
}

// nodeBinary returns the program the nodes run: --node-binary, or a static build of skeptic itself
// (StaticBinary: $SKEPTIC_NODE_BINARY, this executable, or a build cached in the user's cache folder).
func nodeBinary(ctx context.Context, t Test, con *console) (string, error) {
	if t.NodeBinary != "" {
		return givenNodeBinary(t)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	t0 := time.Now()
	bin, err := StaticBinary(ctx, filepath.Join(cache, "skeptic"))
	if err != nil {
		return "", err
	}
	con.logf("node binary %s (found in %s)\n", bin, time.Since(t0).Round(time.Millisecond))
	return bin, nil
}

// givenNodeBinary returns the absolute path of --node-binary, or a *ConfigError when it is not an executable file.
func givenNodeBinary(t Test) (string, error) {
	p, err := filepath.Abs(t.NodeBinary)
	if err != nil {
		return "", configErrorf("--node-binary", "%v", err)
	}
	if st, err := os.Stat(p); err != nil {
		return "", configErrorf("--node-binary", "%v", err)
	} else if st.IsDir() || st.Mode()&0o111 == 0 {
		return "", configErrorf("--node-binary", "%s is not an executable file", p)
	}
	return p, nil
}

// nemesisPlan is the fault schedule of a run; nil means no nemesis.
type nemesisPlan struct {
	schedule nemesis.Schedule
	nem      *nemesis.Nemesis // set once the cluster runs
}

func (p *nemesisPlan) raw() nemesis.Schedule {
	if p == nil {
		return nil
	}
	return p.schedule
}

// prepareNemesis builds (or loads) the schedule before anything starts, so that config.json records it, and
// refuses (with a *ConfigError) a fault that needs a capability the target lacks.
func prepareNemesis(t Test, target targets.Target) (*nemesisPlan, error) {
	if !t.Nemesis.Enabled() {
		return nil, nil
	}
	nodes := t.nodeIDs()
	var (
		s   nemesis.Schedule
		err error
	)
	switch {
	case t.Nemesis.ScheduleFile != "":
		s, err = nemesis.LoadSchedule(t.Nemesis.ScheduleFile, nodes)
	case len(t.Nemesis.Schedule) > 0:
		// A config.json being re-run: replay its schedule.
		s = t.Nemesis.Schedule
		if err = s.Validate(nodes); err != nil {
			err = fmt.Errorf("--config: the recorded schedule: %w", err)
		}
	default:
		s, err = nemesis.Generate(t.Seed, nodes, t.TimeLimit.D(), t.Nemesis.Options)
	}
	if err != nil {
		return nil, asConfigError(err)
	}
	if err := targets.RequireCapabilities(target, s.Needs()); err != nil {
		return nil, configErrorf("--nemesis", "%v", err)
	}
	return &nemesisPlan{schedule: s}, nil
}

// preflight refuses, before anything is created, what the chosen runtime cannot do: a --subnet the docker
// runtime cannot use (not /24 or larger, or overlapping an existing network), a --node-binary it cannot run
// (not executable; for docker, not static), and a delay fault on a runtime that cannot delay (docker on a
// kernel without sch_netem). Both are *ConfigError: the user's choice is at fault.
func (r *run) preflight(ctx context.Context, rt cluster.Runtime, plan *nemesisPlan) error {
	t := r.t
	if t.Subnet != "" {
		if c, ok := rt.(interface {
			CheckSubnet(context.Context, string) error
		}); ok {
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := c.CheckSubnet(cctx, t.Subnet); err != nil {
				if errors.Is(err, docker.ErrSubnet) {
					return configErrorf("--subnet", "%v", err)
				}
				return setupErr("check --subnet", err)
			}
		} else {
			r.con.printf("--subnet %s: ignored by the %s runtime\n", t.Subnet, rt.Name())
		}
	}
	if t.NodeBinary != "" {
		bin, err := givenNodeBinary(t)
		if err != nil {
			return err
		}
		if c, ok := rt.(interface{ CheckBinary(string) error }); ok {
			if err := c.CheckBinary(bin); err != nil {
				return configErrorf("--node-binary", "%v", err)
			}
		}
	}
	if plan.needsDelay(t) {
		if p, ok := rt.(nemesis.DelayProber); ok {
			if err := p.CanDelay(); err != nil {
				return configErrorf("--nemesis", "the %s runtime cannot apply the delay fault: %v", rt.Name(), err)
			}
		}
	}
	return nil
}

// needsDelay reports whether the run asks for the delay fault: enabled, or in the schedule.
func (p *nemesisPlan) needsDelay(t Test) bool {
	if p == nil {
		return false
	}
	if contains(t.Nemesis.Faults, nemesis.FaultDelay) {
		return true
	}
	for _, op := range p.schedule {
		if op.F == nemesis.FStartDelay {
			return true
		}
	}
	return false
}

// startNemesis runs plan's faults against the cluster until ctx ends or the schedule does, then reports on the
// channel. With no plan it reports nil at once.
func (r *run) startNemesis(ctx context.Context, plan *nemesisPlan) <-chan error {
	ch := make(chan error, 1)
	if plan == nil {
		ch <- nil
		return ch
	}
	r.con.printf("%s", planText(r.t, plan.schedule))
	go func() {
		defer func() {
			if p := recover(); p != nil {
				ch <- fmt.Errorf("nemesis panicked: %v", p)
			}
		}()
		ch <- plan.nem.Run(ctx, plan.schedule)
	}()
	return ch
}

// bindNemesis connects plan to the running cluster, and checks that the runtime can apply every fault of the
// schedule (a *ConfigError when it cannot).
func (r *run) bindNemesis(plan *nemesisPlan) error {
	if plan == nil {
		return nil
	}
	if err := plan.schedule.Preflight(r.clu.Net()); err != nil {
		return configErrorf("--nemesis", "runtime %s: %v", r.rt, err)
	}
	nodes := r.clu.Nodes()
	plan.nem = nemesis.New(nemesis.Env{
		Net: r.clu.Net(), Proc: r.clu.Proc(), Clock: httpClock{nodes}, Cluster: r.statusCluster(),
		Record: func(e history.Event) error {
			e.Process = history.NemesisProcess
			_, err := r.rec.Record(e)
			return err
		},
	})
	r.nem = plan.nem
	return nil
}

// healAll undoes every fault the nemesis made (network, paused and killed nodes, clocks); without a nemesis
// there is nothing to undo.
func (r *run) healAll(ctx context.Context) {
	if r.nem == nil {
		return
	}
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
	defer cancel()
	t0 := time.Now()
	if err := r.nem.HealAll(hctx); err != nil {
		r.healErr = err.Error()
		r.con.printf("heal: %v\n", err)
		return
	}
	r.healed, r.healErr = true, ""
	r.con.printf("healed every fault in %s\n", time.Since(t0).Round(time.Millisecond))
}

// httpClock is the nemesis's Clock through the target's /admin/clock (PROTOCOL.md).
type httpClock struct{ nodes []targets.Node }

// SetClock posts the offset and rate to the node's /admin/clock.
func (c httpClock) SetClock(ctx context.Context, node string, offset time.Duration, rate float64) error {
	for _, n := range c.nodes {
		if n.ID == node {
			return httpkv.SetClock(ctx, n.ClientURL, offset, rate)
		}
	}
	return fmt.Errorf("no node %q", node)
}

// statusCluster is the nemesis's Cluster: the node ids, and the leader a majority of the nodes name (through
// the target's status: /admin/status, or etcd's member status).
type statusCluster struct {
	nodes  []targets.Node
	leader leaderOf
}

func (r *run) statusCluster() statusCluster {
	sc := statusCluster{nodes: r.clu.Nodes()}
	sc.leader, _ = any(r.target).(leaderOf)
	return sc
}

// Nodes returns the node ids in order.
func (c statusCluster) Nodes() []string {
	ids := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		ids[i] = n.ID
	}
	return ids
}

// Leader asks every node at once and returns the leader a majority names.
func (c statusCluster) Leader(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var (
		mu    sync.Mutex
		votes = map[string]int{}
		errs  []error
		wg    sync.WaitGroup
	)
	for _, n := range c.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if c.leader == nil {
				return
			}
			l, err := c.leader.Leader(ctx, n)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", n.ID, err))
				return
			}
			if l != "" {
				votes[l]++
			}
		}()
	}
	wg.Wait()
	for l, v := range votes {
		if 2*v > len(c.nodes) {
			return l, nil
		}
	}
	return "", fmt.Errorf("no majority of %d nodes names one leader (votes %v): %w", len(c.nodes), votes, errors.Join(errs...))
}

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
	r.guard(&res)
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
		return res, &ConfigError{Flag: "FILE", Msg: err.Error()}
	}
	if len(cres.Keys) == 0 {
		// An empty (or truncated to nothing) file would otherwise be "valid": nothing was checked.
		return res, configErrorf("FILE", "%s holds no client operations: nothing to check", path)
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

// Clean removes what dead runs left behind (the runs whose harness and reaper are gone), or only the objects of
// runID, and says what it removed on out. CleanRuns has every mode.
func Clean(ctx context.Context, runID string, out io.Writer) error {
	if err := docker.Available(ctx); err != nil {
		// Only the docker runtime leaves anything behind: "or use --runtime local" is no advice here.
		return setupErr("clean", errors.New(strings.TrimSuffix(err.Error(), ", or use --runtime local")))
	}
	removed, err := docker.Clean(ctx, runID)
	for _, x := range removed {
		fmt.Fprintf(out, "removed %s\n", x)
	}
	if len(removed) == 0 && err == nil {
		if runID == "" {
			fmt.Fprintln(out, "nothing labelled skeptic to remove")
		} else {
			fmt.Fprintf(out, "nothing of run %s to remove\n", runID)
		}
	}
	if err != nil {
		return setupErr("clean", err)
	}
	return nil
}
