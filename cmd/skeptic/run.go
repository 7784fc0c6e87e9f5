package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/skeptic-dev/skeptic/harness"
	"github.com/skeptic-dev/skeptic/internal/field"
	"github.com/skeptic-dev/skeptic/nemesis"
	"github.com/skeptic-dev/skeptic/targets/spec"
)

// targetFlags puts the target flags into t: --target-opt and --etcd-read into its options, and --endpoints and
// --attach into its node maps (which then give --nodes, unless it was typed).
func targetFlags(t *harness.Test, f *pflag.FlagSet, opts []string, etcdRead, endpoints, attach string) error {
	if f.Changed("target-opt") || f.Changed("etcd-read") {
		if t.TargetOptions == nil {
			t.TargetOptions = map[string]string{}
		}
	}
	for _, o := range opts {
		k, v, ok := strings.Cut(o, "=")
		if !ok || k == "" {
			return field.Errorf("target_options", "%q is not NAME=VALUE", o)
		}
		t.TargetOptions[k] = v
	}
	if f.Changed("etcd-read") {
		t.TargetOptions["etcd-read"] = etcdRead
	}
	for _, m := range []struct {
		flag, val string
		dst       *map[string]string
	}{{"endpoints", endpoints, &t.Endpoints}, {"attach", attach, &t.Attach}} {
		if !f.Changed(m.flag) {
			continue
		}
		nm, err := harness.ParseNodeMap(m.flag, m.val)
		if err != nil {
			return err
		}
		*m.dst = nm
		if !f.Changed("nodes") {
			t.Nodes = len(nm)
		}
	}
	return nil
}

func newRunCmd() *cobra.Command {
	t := harness.Default()
	var (
		configPath  string
		concurrency string
		nem         nemesis.Flags
		ratios      struct{ read, write, cas float64 }
		targetOpts  []string
		doShrink    bool
		shr         shrinkFlags
		etcdRead    string
		endpoints   string
		attach      string
		junitPath   string
	)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run a test: start a cluster, drive it, inject faults, check the history",
		Long: `run starts a cluster of --nodes nodes, runs --concurrency workers against it for --time-limit while the
nemesis injects the chosen faults, heals, waits --recovery, reads every key from every node, tears the cluster
down and checks the history. Everything lands in --store/<test>/<timestamp>/ (store/latest points at it).`,
		Example: `  skeptic run --time-limit 30s
  skeptic run --flaw stale-reads --nemesis partition --seed 42
  skeptic run --runtime local --nodes 3 --concurrency 2n --rate 100 --test-count 5
  skeptic run --config store/latest/config.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			var base *harness.Test
			if configPath != "" {
				// Start from the recorded test; the flags given on this command line override it.
				b, err := harness.LoadConfig(configPath)
				if err != nil {
					return codeFor(harness.Unknown, err)
				}
				given := map[string]string{}
				f.Visit(func(fl *pflag.Flag) { given[fl.Name] = fl.Value.String() })
				t = b
				for name, v := range given {
					if err := f.Set(name, v); err != nil {
						return badArg("--"+name, err.Error())
					}
				}
				base = &b
			}
			if err := targetFlags(&t, f, targetOpts, etcdRead, endpoints, attach); err != nil {
				return codeFor(harness.Unknown, err)
			}
			if base == nil || f.Changed("concurrency") {
				n, err := harness.ParseConcurrency(concurrency, t.Nodes)
				if err != nil {
					return codeFor(harness.Unknown, err)
				}
				t.Concurrency = n
			}
			if base == nil && !f.Changed("seed") {
				t.Seed = harness.RandomSeed()
			}
			if f.Changed("read-ratio") || f.Changed("write-ratio") || f.Changed("cas-ratio") {
				t.ReadRatio, t.WriteRatio, t.CASRatio = ratios.read, ratios.write, ratios.cas
			}
			nemesisGiven := false
			for _, name := range []string{"nemesis", "partition", "kill", "pause", "clock", "nemesis-interval", "nemesis-mode", "loss", "delay", "jitter"} {
				nemesisGiven = nemesisGiven || f.Changed(name)
			}
			if base == nil || nemesisGiven {
				// Zero means "not given" to the nemesis package; typed explicitly, it is a mistake, not the default.
				if f.Changed("nemesis-interval") && nem.Interval == 0 {
					return codeFor(harness.Unknown, field.Errorf("nemesis.interval", "must be > 0, got 0s"))
				}
				if f.Changed("loss") && nem.Loss == 0 {
					return codeFor(harness.Unknown, field.Errorf("nemesis.loss_percent", "must be a percentage in (0, 100], got 0"))
				}
				o, err := harness.ParseNemesis(nem)
				if err != nil {
					return codeFor(harness.Unknown, err)
				}
				t.Nemesis.Options = o
			}
			if base != nil && (nemesisGiven || f.Changed("nemesis-schedule") || f.Changed("seed") || f.Changed("nodes") || f.Changed("time-limit")) {
				// The recorded schedule was made for the recorded seed, nodes and time limit.
				t.Nemesis.Schedule = nil
			}
			if err := checkJUnitPath(junitPath); err != nil {
				return codeFor(harness.Unknown, err)
			}
			t.Out = cmd.OutOrStdout()
			results, code, err := harness.RunTests(cmd.Context(), t)
			if fe, ok := field.As(err); ok && base != nil && !typed(f, fe.Field) {
				// A bad value that the command line did not give comes from the file: say so.
				err = errors.New("--config: " + configPath + ": the recorded " + flagText(fe))
			} else {
				err = shown(err)
			}
			code, err = writeJUnit(junitPath, results, code, err)
			if doShrink && code == harness.ExitInvalid {
				for _, r := range results {
					if r.Verdict == harness.Invalid && r.Dir != "" {
						fmt.Fprintf(cmd.OutOrStdout(), "\nshrinking the schedule of %s\n", r.Dir)
						if serr := shr.shrink(cmd, r.Dir); serr != nil {
							return serr
						}
						break
					}
				}
			}
			if code == 0 {
				return nil
			}
			return &exitError{code: code, err: err}
		},
	}
	f := cmd.Flags()
	f.SortFlags = false
	f.StringVar(&configPath, "config", "", "re-run the test a run's config.json describes (same seed and fault schedule); other flags override it")
	f.StringVar(&t.Name, "name", "", "test name, the store folder's name (default <target>[-<flaw>]-<workload>)")
	f.StringVar(&t.Workload, "workload", t.Workload, "workload: register (one shared key) or kv (many keys, rotated every --ops-per-key ops)")
	f.IntVar(&t.Nodes, "nodes", t.Nodes, "number of nodes")
	f.StringVar(&concurrency, "concurrency", harness.DefaultConcurrency, "number of workers: an integer, or Kn for K times --nodes")
	f.Float64Var(&t.Rate, "rate", t.Rate, "total operations per second across workers (0 = as fast as possible)")
	durationFlag(f, (*time.Duration)(&t.TimeLimit), "time-limit", t.TimeLimit.D(), "how long the workers generate operations")
	f.Float64Var(&ratios.read, "read-ratio", t.ReadRatio, "weight of reads in the mix (0..1)")
	f.Float64Var(&ratios.write, "write-ratio", t.WriteRatio, "weight of writes in the mix (0..1)")
	f.Float64Var(&ratios.cas, "cas-ratio", t.CASRatio, "weight of compare-and-sets in the mix (0..1)")
	f.IntVar(&t.OpsPerKey, "ops-per-key", t.OpsPerKey, "kv: operations on a key before its workers move to a fresh key")
	f.IntVar(&t.WorkersPerKey, "workers-per-key", t.WorkersPerKey, "kv: workers sharing a key at once (0 = one per node, so every key is used through every node)")
	f.IntVar(&t.MaxOps, "max-ops", t.MaxOps, "stop after this many operations in all (0 = only --time-limit)")
	durationFlag(f, (*time.Duration)(&t.OpTimeout), "op-timeout", t.OpTimeout.D(), "timeout of each operation; a timed-out operation is recorded as info")
	durationFlag(f, (*time.Duration)(&t.Recovery), "recovery", t.Recovery.D(), "wait after healing, before the final reads")
	durationFlag(f, (*time.Duration)(&t.FinalReadTimeout), "final-read-timeout", t.FinalReadTimeout.D(), "deadline of the final reads of every key from every node")
	durationFlag(f, (*time.Duration)(&t.CheckTimeout), "check-timeout", t.CheckTimeout.D(), "deadline of the linearizability check; past it the verdict is unknown")
	f.Int64Var(&t.Seed, "seed", 0, "seed of the run's random source (default: random, printed and recorded)")
	f.BoolVar(&doShrink, "shrink", false, "when the run is invalid, shrink its fault schedule (as skeptic shrink does)")
	shr.define(f, "shrink-")
	f.BoolVar(&t.FailFast, "fail-fast", false, "stop the load as soon as a key is proven not linearizable (kv keys are checked as they retire)")
	f.Float64Var(&t.MinAvailability, "min-availability", 0, "fraction of the load's operations that must succeed, overall and outside fault windows, for a valid verdict (below: unknown, exit 2)")

	f.StringVar(&t.Target, "target", t.Target, "built-in system under test: "+strings.Join(spec.Builtins(), ", "))
	f.StringVar(&t.TargetSpec, "target-spec", "", "a YAML or JSON file describing the system under test (see README: Testing your own system)")
	f.StringArrayVar(&targetOpts, "target-opt", nil, "a target option, NAME=VALUE (repeatable)")
	f.StringVar(&t.Flaw, "flaw", "", "deliberate bug in the Paxos target: none, naive-tickets, stale-reads, early-ack, forget-promises, wallclock-lease")
	f.StringVar(&t.Read, "read", "", "Paxos read mode: index, log or lease (default: the target's)")
	f.StringVar(&etcdRead, "etcd-read", "", "etcd target's read consistency: linearizable (default) or serializable")
	f.StringVar(&endpoints, "endpoints", "", "with --runtime none: test the running cluster at these client addresses, n1=HOST:PORT,...")
	f.StringVar(&attach, "attach", "", "test (and fault) these existing containers instead of starting nodes, n1=CONTAINER,...")

	f.StringVar(&nem.Nemesis, "nemesis", "", "faults, comma-separated: "+strings.Join(nemesis.KnownFaults, ", ")+"; or all ("+strings.Join(nemesis.AllFaults, ",")+"), or none")
	f.StringVar(&nem.Partition, "partition", "", "partition strategies (enables partition): one, majority, majorities-ring, bridge, leader, one-way (default: all, leader only for a target with the status capability)")
	f.StringVar(&nem.Kill, "kill", "", "kill strategies (enables kill): one, leader, minority (1 to (n-1)/2 nodes), majority (exactly n/2+1), all, followers (n/2+1 followers, then the rest; the leader restarts last) (default: minority,majority,all, and leader,followers for a target with status; in cycles of kill and restart)")
	f.StringVar(&nem.Pause, "pause", "", "pause strategies (enables pause): one, leader, minority (default: one,minority, and leader for a target with status)")
	f.StringVar(&nem.Clock, "clock", "", "clock strategies (enables clock): bump, bump-leader, strobe, skew-rate, reset (default: bump,strobe,skew-rate, and bump-leader for a target with status)")
	durationFlag(f, &nem.Interval, "nemesis-interval", nemesis.DefaultInterval, "length of each quiet and each faulty period")
	f.StringVar(&nem.Mode, "nemesis-mode", "", "alternate: one fault at a time, quiet and faulty periods alternating (default); overlap: each enabled fault on its own seeded timeline, so faults overlap")
	f.Float64Var(&nem.Loss, "loss", 0, "loss fault (enables loss): percent of packets dropped between nodes, in (0, 100] (default 30)")
	f.DurationVar(&nem.Delay, "delay", 0, "delay fault (enables delay): added latency between nodes (default 100ms)")
	f.DurationVar(&nem.Jitter, "jitter", 0, "delay fault (enables delay): added jitter (default 50ms)")
	f.StringVar(&t.Nemesis.ScheduleFile, "nemesis-schedule", "", "replay this schedule instead of generating one: a JSON list of ops, or a run's config.json (the list at .nemesis.schedule)")

	f.StringVar(&t.Runtime, "runtime", t.Runtime, "where nodes run: auto (docker if a daemon answers, else local), docker, local, or none (a running cluster at --endpoints)")
	f.StringVar(&t.Subnet, "subnet", "", "docker network subnet, such as 10.88.7.0/24 (default: a free one)")
	f.StringVar(&t.NodeBinary, "node-binary", "", "program the nodes run (default: this skeptic, rebuilt statically)")
	f.StringVar(&t.Store, "store", t.Store, "root folder of the run folders")
	f.BoolVar(&t.KeepData, "keep-data", false, "keep the nodes' volumes or data folders after the run")
	f.BoolVar(&t.LeaveDBRunning, "leave-db-running", false, "leave the cluster running after the run (skeptic clean removes it)")
	f.IntVar(&t.TestCount, "test-count", t.TestCount, "run the test this many times; the exit code is the worst")
	f.StringVar(&junitPath, "junit", "", "write JUnit XML to this file: one testcase per run, a failure's message the anomaly in plain words")
	return cmd
}
