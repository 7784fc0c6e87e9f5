package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/skeptic-dev/skeptic/harness"
	"github.com/skeptic-dev/skeptic/report"
)

func newReportCmd() *cobra.Command {
	var opts report.Options
	cmd := &cobra.Command{
		Use:   "report DIR",
		Short: "Write the report of a stored run (report.html), checking its history again",
		Long: `report re-checks the history.jsonl of a run folder and writes report.html (one self-contained page: the
verdict, the anomaly of each failed key in plain words, plots with the fault intervals shaded, the fault
timeline, links), report.json, and each failed key's visualization with the faults drawn on it. It exits as
run does: 0 valid, 1 invalid, 2 unknown, 254 a bad folder, 255 an internal error.`,
		Example: `  skeptic report store/latest
  skeptic report store/paxos-stale-reads-kv/20261130T062227`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if st, err := os.Stat(filepath.Join(dir, report.HistoryFile)); err != nil || st.IsDir() {
				msg := fmt.Sprintf("%s is not a run folder: it has no %s", dir, report.HistoryFile)
				if err != nil && !errors.Is(err, os.ErrNotExist) {
					msg = err.Error()
				}
				return badArg("DIR", msg)
			}
			s, err := report.Write(dir, nil, opts)
			if err != nil {
				return badArg("DIR", err.Error())
			}
			out := cmd.OutOrStdout()
			for i, a := range s.Anomalies {
				if i == 3 {
					fmt.Fprintf(out, "... and %d more keys explained in the report\n", len(s.Anomalies)-3)
					break
				}
				fmt.Fprintf(out, "%s\n", a.Text)
			}
			fmt.Fprintf(out, "verdict: %s\nreport: %s\n", s.Verdict, filepath.Join(dir, report.ReportFile))
			return codeFor(harness.Verdict(s.Verdict), nil)
		},
	}
	f := cmd.Flags()
	durationFlag(f, &opts.CheckTimeout, "check-timeout", harness.Default().CheckTimeout.D(), "deadline of the check; past it the verdict is unknown")
	f.IntVar(&opts.MaxVisOps, "max-vis-ops", 400, "cut a key's visualization to a window around the anomaly above this many operations")
	return cmd
}

// checkJUnitPath refuses, before the run, a --junit file that could not be written: its folder must exist.
func checkJUnitPath(path string) error {
	if path == "" {
		return nil
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil {
		return badArg("--junit", err.Error())
	} else if !st.IsDir() {
		return badArg("--junit", dir+" is not a folder")
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return badArg("--junit", path+" is a folder")
	}
	return nil
}

// writeJUnit writes the --junit file for the runs, when asked; a file that cannot be written turns the exit
// code into a setup error (255), so CI does not mistake a missing report for a pass.
func writeJUnit(path string, results []harness.Result, code int, err error) (int, error) {
	if path == "" {
		return code, err
	}
	runs := make([]report.JUnitRun, len(results))
	for i, r := range results {
		runs[i] = report.JUnitRun{Test: r.Test, Seed: r.Seed, Dir: r.Dir, Verdict: string(r.Verdict), Error: r.Error}
	}
	if jerr := report.WriteJUnit(path, runs); jerr != nil {
		return harness.ExitError, errors.Join(err, jerr)
	}
	return code, err
}
