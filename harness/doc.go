// Package harness runs a test: it is the loop that every other part of skeptic plugs into.
//
// Run(ctx, Test) drives one run, and data flows through it one way:
//
//	Test (config.json) -> runtime choice (docker if a daemon answers, else local)
//	                   -> store/<test>/<timestamp>/ (store/latest points at it)
//	                   -> cluster.Runtime.Start: nodes n1..nN, each with a client URL
//	workloads.Worker(i) -> worker i (bound to node i mod N, its own targets.Client)
//	                   -> history.Recorder: invoke, then ok/fail/info, each written as it happens
//	nemesis (beside the workers) -> the same Recorder, process "nemesis"
//	after --time-limit: stop generating, heal every fault, wait --recovery, final reads of every key from
//	                   every node (ordinary read ops), teardown, fsync the history
//	history.jsonl      -> checker (per key, --check-timeout) -> results.json, visualizations of failed keys
//
// Workers follow Jepsen's process rule: an info ends the process, because its operation may still take effect,
// and the worker continues as process p + concurrency. A shared pacer holds the total rate (--rate). Time comes
// from one monotonic base per run (the Recorder's), and randomness from the run's seed, handed to the workload
// and the nemesis.
//
// The teardown happens on every path out of Run: success, error, panic and ctx's end (SIGINT/SIGTERM in the
// CLI). ForceTeardown is the CLI's answer to a second signal. ExitCode maps Run's verdict and error to Jepsen's
// exit codes, by the error's type: a *field.Error (internal/field) names the field of the config at fault by its
// config.json path (cmd/skeptic shows the flag that fills it), a *SetupError the step that failed.
//
// config.json holds the whole Test, the seed and the fault schedule actually used among it: LoadConfig reads it
// back, and `skeptic run --config` re-runs it. CheckFile re-checks a history offline (skeptic's JSONL, or Jepsen's
// EDN or log), with the same verdicts and output, into a fresh folder so a re-check never overwrites a run.
package harness
