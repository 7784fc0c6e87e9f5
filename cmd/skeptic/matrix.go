package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/skeptic-dev/skeptic/harness"
	"github.com/skeptic-dev/skeptic/nemesis"
)

func newMatrixCmd() *cobra.Command {
	t := harness.Default()
	var (
		flaws, faults, out string
		runs, correctRuns  int
		mode, cells        string
	)
	cmd := &cobra.Command{
		Use:   "matrix",
		Short: "Run every flaw under every fault N times: the harness's detection rate and false positives",
		Long: `matrix runs, for each flaw of the target and for its correct build ("none"), each fault with its default
strategies, --runs times (--correct-runs for the correct build), each run with its own seed (--seed, +1, +2, ...).
It prints a line per run, and writes matrix.json and matrix.md (the table: runs that found the flaw / runs, with the
median and maximum time from the start of the load to the moment the history held the violation) into --out.
Each run's command in matrix.json re-runs it alone. Exit code 1 when the correct build was ever found invalid.`,
		Example: `  skeptic matrix --runs 5 --correct-runs 10 --time-limit 60s
  skeptic matrix --flaws stale-reads --faults partition --runs 20 --time-limit 30s
  skeptic matrix --target-spec mykv.yaml --faults partition,kill --runs 5`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			if !f.Changed("seed") {
				t.Seed = harness.RandomSeed()
			}
			n, err := harness.ParseConcurrency("2n", t.Nodes)
			if err != nil {
				return codeFor(harness.Unknown, err)
			}
			t.Concurrency = n
			if out == "" {
				out = filepath.Join(t.Store, "matrix", time.Now().Format("20060102T150405"))
			}
			cfg := harness.MatrixConfig{Base: t, Runs: runs, CorrectRuns: correctRuns, Out: cmd.OutOrStdout(), Dir: out}
			if flaws != "" {
				cfg.Flaws = strings.Split(flaws, ",")
			}
			// A cell may combine kinds with +: clock+partition is --nemesis clock,partition.
			for _, x := range strings.Split(faults, ",") {
				cfg.Faults = append(cfg.Faults, strings.ReplaceAll(x, "+", ","))
			}
			for _, c := range strings.Split(cells, ",") {
				if c = strings.TrimSpace(c); c == "" {
					continue
				}
				flaw, fault, ok := strings.Cut(c, "=")
				if !ok || flaw == "" || fault == "" {
					return badArg("--cells", fmt.Sprintf("%q is not FLAW=FAULT (such as stale-reads=partition)", c))
				}
				cfg.Cells = append(cfg.Cells, [2]string{flaw, strings.ReplaceAll(fault, "+", ",")})
			}
			cfg.Base.Nemesis.Options.Mode = mode
			m, err := harness.RunMatrix(cmd.Context(), cfg)
			fmt.Fprintf(cmd.OutOrStdout(), "\n%s\nmatrix: %s\n", m.Markdown(), out)
			if err != nil {
				return codeFor(harness.Unknown, err)
			}
			for _, c := range m.Cells {
				if (c.Flaw == "none" || c.Flaw == "") && c.Detected > 0 {
					return &exitError{code: harness.ExitInvalid, err: fmt.Errorf("the correct build was found invalid in %d of %d runs under %s", c.Detected, len(c.Runs), c.Fault)}
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.SortFlags = false
	f.StringVar(&flaws, "flaws", "", "flaws to try, comma-separated, none for the correct build (default: every flaw of the target, and none)")
	f.StringVar(&faults, "faults", strings.Join(nemesis.AllFaults, ","), "faults to try, comma-separated, each with its default strategies; + combines kinds in one cell (clock+partition)")
	f.StringVar(&cells, "cells", "", "only these cells, FLAW=FAULT,... (such as stale-reads=partition,none=all), instead of every flaw under every fault")
	f.StringVar(&mode, "nemesis-mode", "", "alternate (default) or overlap: how a cell's fault kinds share the run")
	f.IntVar(&runs, "runs", 5, "runs of each flawed cell")
	f.IntVar(&correctRuns, "correct-runs", 10, "runs of each cell of the correct build")
	f.StringVar(&out, "out", "", "folder for matrix.json and matrix.md (default <store>/matrix/<timestamp>)")
	f.StringVar(&t.Target, "target", t.Target, "built-in target")
	f.StringVar(&t.TargetSpec, "target-spec", "", "a spec file of the system under test")
	f.IntVar(&t.Nodes, "nodes", t.Nodes, "number of nodes")
	durationFlag(f, (*time.Duration)(&t.TimeLimit), "time-limit", t.TimeLimit.D(), "how long each run's workers generate operations")
	f.Float64Var(&t.Rate, "rate", t.Rate, "total operations per second of each run")
	f.StringVar(&t.Runtime, "runtime", t.Runtime, "auto, docker or local")
	f.Int64Var(&t.Seed, "seed", 0, "first seed (default: random)")
	f.StringVar(&t.Store, "store", t.Store, "root folder of the run folders")
	f.BoolVar(&t.FailFast, "fail-fast", false, "stop each run as soon as a key is proven not linearizable (time to detection with fail-fast)")
	return cmd
}
