package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/skeptic-dev/skeptic/harness"
)

// shrinkFlags are the options of `skeptic shrink` and of `skeptic run --shrink`.
type shrinkFlags struct {
	repeats, maxRuns int
	budget           time.Duration
	out              string
}

func (s *shrinkFlags) define(f *pflag.FlagSet, prefix string) {
	f.IntVar(&s.repeats, prefix+"repeats", 2, "K: a schedule fails when any of K runs of it is invalid")
	f.IntVar(&s.maxRuns, prefix+"max-runs", 60, "stop after this many runs, keeping the smallest failing schedule so far")
	durationFlag(f, &s.budget, prefix+"budget", 30*time.Minute, "stop after this long, keeping the smallest failing schedule so far")
}

// shrink shrinks the failing run in dir and prints what it found.
func (s shrinkFlags) shrink(cmd *cobra.Command, dir string) error {
	out := s.out
	if out == "" {
		out = filepath.Join(dir, "shrink")
	}
	res, err := harness.Shrink(cmd.Context(), harness.ShrinkConfig{RunDir: dir, Repeats: s.repeats, MaxRuns: s.maxRuns,
		Budget: s.budget, Dir: out, Out: cmd.OutOrStdout(), Store: filepath.Join(out, "runs")})
	if err != nil {
		return codeFor(harness.Unknown, err)
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "shrunk the schedule from %d ops to %d in %d runs", len(res.Original), len(res.Smallest), res.Runs)
	if res.Exhausted != "" {
		fmt.Fprintf(w, " (stopped by %s)", res.Exhausted)
	}
	fmt.Fprintf(w, "; the smallest schedule failed %d of %d runs\nschedule: %s\nreport: %s\nre-run: %s\n", res.FinalFailures, res.FinalRuns,
		res.Schedule, filepath.Join(out, "shrink.json"), res.Command)
	return nil
}

func newShrinkCmd() *cobra.Command {
	var s shrinkFlags
	cmd := &cobra.Command{
		Use:   "shrink RUN_DIR",
		Short: "Find the smallest fault schedule that still makes a failing run fail",
		Long: `shrink replays a failing run (its seed and config) with ever smaller fault schedules, in the manner of
delta debugging: it removes faults (halves, quarters, ... then one at a time), then shortens each fault, then
moves each one later, and keeps a change only when the run still fails. A schedule fails when any of --repeats
runs of it is invalid. It stops after --max-runs runs or --budget, and writes the smallest failing schedule as a
--nemesis-schedule file (RUN_DIR/shrink/schedule.json), a config.json that re-runs it, and shrink.json, a report
of every try; the last line says how often the smallest schedule failed.`,
		Example: `  skeptic shrink store/latest
  skeptic run --flaw forget-promises --nemesis all --shrink`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return s.shrink(cmd, args[0]) },
	}
	s.define(cmd.Flags(), "")
	cmd.Flags().StringVar(&s.out, "out", "", "folder of the results (default RUN_DIR/shrink)")
	return cmd
}
