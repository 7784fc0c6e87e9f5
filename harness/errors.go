package harness

import (
	"errors"
	"fmt"
	"strings"
)

// Exit codes, as Jepsen's (shared/ARCHITECTURE.md).
const (
	// ExitValid means every checked key was linearizable.
	ExitValid = 0
	// ExitInvalid means at least one key was not linearizable.
	ExitInvalid = 1
	// ExitUnknown means the checker could not decide (it timed out) and nothing was found invalid.
	ExitUnknown = 2
	// ExitBadConfig means bad arguments or a bad config; the message names the flag.
	ExitBadConfig = 254
	// ExitError means a setup or internal error; the message says what failed.
	ExitError = 255
)

// ConfigError is a bad value in a Test or on the command line. Flag names the command-line flag the value comes
// from, such as "--concurrency", so that the message tells the user exactly what to change.
type ConfigError struct {
	// Flag is the flag (or argument) at fault, with its dashes.
	Flag string
	// Msg says what is wrong with it, and what is allowed.
	Msg string
}

// Error returns "--flag: message".
func (e *ConfigError) Error() string {
	if e.Flag == "" {
		return e.Msg
	}
	return e.Flag + ": " + e.Msg
}

// configErrorf builds a ConfigError for flag.
func configErrorf(flag, format string, args ...any) *ConfigError {
	return &ConfigError{Flag: flag, Msg: fmt.Sprintf(format, args...)}
}

// SetupError is a failure to prepare or run the test itself (no Docker daemon, a node that does not start, a
// full disk), as opposed to a finding about the system under test. Stage says which step failed.
type SetupError struct {
	// Stage names the step, such as "start cluster" or "create store folder".
	Stage string
	// Err is the underlying failure.
	Err error
}

// Error returns "stage: cause".
func (e *SetupError) Error() string { return e.Stage + ": " + e.Err.Error() }

// Unwrap returns the underlying failure.
func (e *SetupError) Unwrap() error { return e.Err }

func setupErr(stage string, err error) error {
	if err == nil {
		return nil
	}
	var se *SetupError
	if errors.As(err, &se) {
		return err
	}
	var ce *ConfigError
	if errors.As(err, &ce) {
		return err
	}
	return &SetupError{Stage: stage, Err: err}
}

// ExitCode maps the outcome of Run (or of an offline check) to the process exit code: a *ConfigError anywhere in
// err's chain gives ExitBadConfig, any other error ExitError, and otherwise the verdict decides.
func ExitCode(v Verdict, err error) int {
	if err != nil {
		var ce *ConfigError
		if errors.As(err, &ce) {
			return ExitBadConfig
		}
		return ExitError
	}
	switch v {
	case Valid:
		return ExitValid
	case Invalid:
		return ExitInvalid
	default:
		return ExitUnknown
	}
}

// WorstExit combines the exit codes of several runs (--test-count) as Jepsen's test-all does: any error beats
// any verdict, unknown beats invalid, and invalid beats valid. With Jepsen's numbering that is the largest code.
func WorstExit(codes ...int) int {
	worst := ExitValid
	for _, c := range codes {
		if c > worst {
			worst = c
		}
	}
	return worst
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
