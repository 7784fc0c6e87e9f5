package main

import (
	"github.com/spf13/cobra"

	"github.com/skeptic-dev/skeptic/harness"
	"github.com/skeptic-dev/skeptic/history"
)

func newCheckCmd() *cobra.Command {
	opts := harness.CheckOptions{Timeout: harness.Default().CheckTimeout.D()}
	cmd := &cobra.Command{
		Use:   "check FILE",
		Short: "Check a recorded history for linearizability (history.jsonl, or Jepsen .edn/.log)",
		Long: `check re-checks a history offline: a skeptic history.jsonl, or a Jepsen history in EDN or log form, told
apart by content unless --format names it. It prints each key's verdict and where the visualizations of the
keys that failed went, and exits as run does: 0 valid, 1 invalid, 2 unknown, 254 a bad file or flag, 255 an
internal error.`,
		Example: `  skeptic check store/latest/history.jsonl     # the newest run's history, after a skeptic run in this folder
  skeptic check --out /tmp/viz ../shared/vectors/jepsen-etcd/etcd_000.edn
  skeptic check --format jepsen-log --fail-cas never-happened jepsen.log`,
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
	f.Var(formatFlag{&opts.Format}, "format", "the file's format: jepsen-edn, jepsen-log or skeptic (default: told from the content)")
	opts.FailCAS = history.FailCASObserved
	f.Var(failCASFlag{&opts.FailCAS}, "fail-cas", "what a failed cas with no error means: observed (the register was not its from value; Jepsen's etcd client, skeptic's own) or never-happened (nothing, as Knossos reads it)")
	return cmd
}

// formatFlag is --format: a history.Format, checked when set.
type formatFlag struct{ p *history.Format }

func (v formatFlag) Set(s string) error {
	f, err := history.ParseFormat(s)
	if err != nil {
		return err
	}
	*v.p = f
	return nil
}

func (v formatFlag) String() string {
	if v.p == nil || *v.p == history.FormatAuto {
		return ""
	}
	return string(*v.p)
}

func (v formatFlag) Type() string { return "format" }

// failCASFlag is --fail-cas: a history.FailCAS, checked when set.
type failCASFlag struct{ p *history.FailCAS }

func (v failCASFlag) Set(s string) error {
	f, err := history.ParseFailCAS(s)
	if err != nil {
		return err
	}
	*v.p = f
	return nil
}

func (v failCASFlag) String() string {
	if v.p == nil {
		return ""
	}
	return string(*v.p)
}

func (v failCASFlag) Type() string { return "reading" }
