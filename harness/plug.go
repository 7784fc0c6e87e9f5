package harness

// This file is where the harness meets the packages it drives: the target, the workload, the runtimes, the
// nemesis and the checker. Each function turns the Test into what that package needs.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/skeptic-dev/skeptic/harness/cluster"
	"github.com/skeptic-dev/skeptic/harness/docker"
	"github.com/skeptic-dev/skeptic/targets"
	"github.com/skeptic-dev/skeptic/workloads"
)

// newTarget builds the system under test from the config.
func newTarget(t Test) (targets.Target, error) {
	return nil, &SetupError{Stage: "target", Err: fmt.Errorf("the %s target is not built into this skeptic yet", t.Target)}
}

// newWorkload builds the generator; its per-worker streams derive from the run's seed.
func newWorkload(t Test) (workloads.Workload, error) {
	wl, err := workloads.New(t.Workload, workloads.Config{
		Seed: t.Seed, Workers: t.Concurrency, OpsPerKey: t.OpsPerKey, WorkersPerKey: t.WorkersPerKey,
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
func chooseRuntime(ctx context.Context, name string) (cluster.Runtime, string, error) {
	switch name {
	case RuntimeDocker:
		rt, why, err := dockerRuntime(ctx)
		if err != nil {
			return nil, "", setupErr("runtime docker", err)
		}
		return rt, why, nil
	case RuntimeLocal:
		return localRuntime("--runtime local")
	default:
		rt, why, err := dockerRuntime(ctx)
		if err == nil {
			return rt, why, nil
		}
		return localRuntime("no Docker daemon: " + err.Error())
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
	pctx, cancel := context.WithTimeout(ctx, 5e9)
	defer cancel()
	ping, err := cli.Ping(pctx)
	if err != nil {
		rt.Close()
		return nil, "", fmt.Errorf("no Docker daemon at %s: %v; start it, or use --runtime local", cli.DaemonHost(), err)
	}
	return rt, fmt.Sprintf("daemon at %s answered, API %s", cli.DaemonHost(), ping.APIVersion), nil
}

// localRuntime returns the local runtime.
func localRuntime(why string) (cluster.Runtime, string, error) {
	return nil, "", &SetupError{Stage: "runtime local", Err: fmt.Errorf("the local runtime is not built into this skeptic yet (%s)", why)}
}

// nodeBinary returns the program the nodes run: --node-binary, or skeptic itself built statically.
func nodeBinary(ctx context.Context, t Test, con *console) (string, error) {
	if t.NodeBinary != "" {
		return t.NodeBinary, nil
	}
	return "", fmt.Errorf("no --node-binary given, and building one is not wired yet")
}

// nemesisPlan is the fault schedule of a run, or nil for none.
type nemesisPlan struct {
	schedule json.RawMessage
}

func (p *nemesisPlan) raw() json.RawMessage {
	if p == nil {
		return nil
	}
	return p.schedule
}

// prepareNemesis builds (or loads) the schedule before the run starts, so that config.json records it and a
// fault the target cannot take is refused before anything starts.
func prepareNemesis(t Test, target targets.Target) (*nemesisPlan, error) {
	if !t.Nemesis.Enabled() {
		return nil, nil
	}
	return nil, configErrorf("--nemesis", "the nemesis is not built into this skeptic yet")
}

// startNemesis runs plan's faults against the cluster until ctx ends, then reports on the channel.
func (r *run) startNemesis(ctx context.Context, plan *nemesisPlan) <-chan error {
	ch := make(chan error, 1)
	ch <- nil
	return ch
}

// healAll undoes every fault: the network healed, every node resumed and started.
func (r *run) healAll(ctx context.Context) {
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
	defer cancel()
	if err := r.clu.Net().Heal(hctx); err != nil {
		r.con.printf("heal: %v\n", err)
	}
	for _, n := range r.clu.Nodes() {
		if err := r.clu.Proc().Resume(hctx, n.ID); err != nil {
			r.con.printf("heal: resume %s: %v\n", n.ID, err)
		}
		if err := r.clu.Proc().Start(hctx, n.ID); err != nil {
			r.con.printf("heal: start %s: %v\n", n.ID, err)
		}
	}
}

// check checks the closed history and writes results.json.
func (r *run) check(ctx context.Context, res Result) (Result, error) {
	r.fillCounts(&res)
	res.Error = "the checker is not built into this skeptic yet"
	if err := writeJSON(r.dir.File(ResultsFile), res); err != nil {
		return res, setupErr("write results.json", err)
	}
	return res, nil
}

// checkPath checks the history file at path, writing visualizations of the keys that are not valid into dir.
func checkPath(ctx context.Context, path string, timeout time.Duration, dir string, res Result) (Result, error) {
	return res, setupErr("check", fmt.Errorf("the checker is not built into this skeptic yet"))
}
