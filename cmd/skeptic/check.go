package main

import (
	"github.com/spf13/cobra"

	"github.com/skeptic-dev/skeptic/harness"
)

func newCheckCmd() *cobra.Command {
	opts := harness.CheckOptions{Timeout: harness.Default().CheckTimeout.D()}
	cmd := &cobra.Command{
		Use:   "check FILE",
		Short: "Check a recorded history for linearizability (history.jsonl, or Jepsen .edn/.log)",
		Long: `check re-checks a history offline: a skeptic history.jsonl, or a Jepsen history in EDN or log form. It prints
each key's verdict and where the visualizations of the keys that failed went, and exits as run does:
0 valid, 1 invalid, 2 unknown, 254 a bad file or flag, 255 an internal error.`,
		Example: `  skeptic check store/latest/history.jsonl     # the newest run's history, after a skeptic run in this folder
  skeptic check --out /tmp/viz path/to/jepsen/store/latest/history.edn   # a Jepsen history (EDN, or its log)`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Out = cmd.OutOrStdout()
			res, err := harness.CheckFile(cmd.Context(), args[0], opts)
			return codeFor(res.Verdict, err)
		},
	}
	f := cmd.Flags()
	durationFlag(f, &opts.Timeout, "check-timeout", opts.Timeout, "deadline of the check; past it the verdict is unknown")
	f.StringVar(&opts.OutDir, "out", "", "folder for results.json and the visualizations (default: <run>/check/<timestamp> for a run's history.jsonl, else <store>/check/<name>/<timestamp>)")
	f.StringVar(&opts.Store, "store", "store", "store root used for the default --out")
	return cmd
}
