package main

// The one place that knows which command-line flag fills which field of the configuration. The packages below
// name a bad value by its config.json path (a *field.Error); the user typed a flag, so that is what they are
// shown, with exit code 254.

import (
	"errors"
	"strings"

	"github.com/spf13/pflag"

	"github.com/skeptic-dev/skeptic/harness"
	"github.com/skeptic-dev/skeptic/internal/field"
)

// fieldFlags maps a field's config.json path to the flag (or argument) that fills it. The fields of
// harness.Test come first, then those of the other commands' options (harness.CheckOptions, MatrixConfig,
// ShrinkConfig, CleanOptions), under the command's name.
var fieldFlags = map[string]string{
	"config":             "--config",
	"name":               "--name",
	"target":             "--target",
	"target_spec":        "--target-spec",
	"flaw":               "--flaw",
	"read":               "--read",
	"target_options":     "--target-opt",
	"endpoints":          "--endpoints",
	"attach":             "--attach",
	"nodes":              "--nodes",
	"concurrency":        "--concurrency",
	"rate":               "--rate",
	"time_limit":         "--time-limit",
	"workload":           "--workload",
	"read_ratio":         "--read-ratio",
	"write_ratio":        "--write-ratio",
	"cas_ratio":          "--cas-ratio",
	"ops_per_key":        "--ops-per-key",
	"workers_per_key":    "--workers-per-key",
	"max_ops":            "--max-ops",
	"fail_fast":          "--fail-fast",
	"min_availability":   "--min-availability",
	"op_timeout":         "--op-timeout",
	"check_timeout":      "--check-timeout",
	"recovery":           "--recovery",
	"final_read_timeout": "--final-read-timeout",
	"seed":               "--seed",
	"runtime":            "--runtime",
	"subnet":             "--subnet",
	"node_binary":        "--node-binary",
	"store":              "--store",
	"keep_data":          "--keep-data",
	"leave_db_running":   "--leave-db-running",
	"test_count":         "--test-count",

	"nemesis":               "--nemesis",
	"nemesis.faults":        "--nemesis",
	"nemesis.partition":     "--partition",
	"nemesis.kill":          "--kill",
	"nemesis.pause":         "--pause",
	"nemesis.clock":         "--clock",
	"nemesis.interval":      "--nemesis-interval",
	"nemesis.mode":          "--nemesis-mode",
	"nemesis.loss_percent":  "--loss",
	"nemesis.delay":         "--delay",
	"nemesis.jitter":        "--jitter",
	"nemesis.schedule_file": "--nemesis-schedule",
	// The schedule a config.json recorded comes only from the file.
	"nemesis.schedule": "--config",

	"check.file":     "FILE",
	"check.timeout":  "--check-timeout",
	"matrix.faults":  "--faults",
	"matrix.runs":    "--runs",
	"matrix.dir":     "--out",
	"shrink.run_dir": "RUN_DIR",
	"shrink.dir":     "--out",
	"clean.all":      "--all",
}

// optionFlags maps the target options that have flags of their own to those flags; any other option
// (target_options.NAME) is given with --target-opt NAME=VALUE.
var optionFlags = map[string]string{"flaw": "--flaw", "read": "--read", "etcd-read": "--etcd-read"}

// flagOf returns the flag that fills the field at path, or the path itself (what a config.json user needs)
// when no flag does.
func flagOf(path string) string {
	if f, ok := fieldFlags[path]; ok {
		return f
	}
	if opt, ok := strings.CutPrefix(path, "target_options."); ok {
		if f, ok := optionFlags[opt]; ok {
			return f
		}
		return "--target-opt"
	}
	return path
}

// typed reports whether the flag that fills the field at path was given on the command line f parsed.
func typed(f *pflag.FlagSet, path string) bool {
	flag, given := flagOf(path), false
	f.Visit(func(fl *pflag.Flag) { given = given || "--"+fl.Name == flag })
	return given
}

// flagText is fe as the user is shown it: the flag and what is wrong, "--loss: must be ...".
func flagText(fe *field.Error) string {
	if fe.Field == "" {
		return fe.Msg
	}
	return flagOf(fe.Field) + ": " + fe.Msg
}

// shownError is an error holding a *field.Error, shown with the field's flag in place of its path.
type shownError struct {
	err error
	fe  *field.Error
}

// Error returns err's message with the field error's part in the flag's words.
func (e *shownError) Error() string {
	return strings.Replace(e.err.Error(), e.fe.Error(), flagText(e.fe), 1)
}

// Unwrap returns the error shown.
func (e *shownError) Unwrap() error { return e.err }

// shown returns err as the user is shown it: with the flag in place of the field's path when it holds a
// *field.Error, and otherwise as it is.
func shown(err error) error {
	if fe, ok := field.As(err); ok {
		return &shownError{err: err, fe: fe}
	}
	return err
}

// badConfig returns err, a bad value of the configuration (a *field.Error in its chain), as the command's end
// with exit code 254, shown with the flag that fills the field.
func badConfig(err error) *exitError {
	return &exitError{code: harness.ExitBadConfig, err: shown(err)}
}

// badArg ends a command with exit code 254 for a bad value of flag (or argument) that no configuration field
// holds: a command's own flags, such as --junit or serve's --addr.
func badArg(flag, msg string) *exitError {
	return &exitError{code: harness.ExitBadConfig, err: errors.New(flag + ": " + msg)}
}
