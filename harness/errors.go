package harness

import (
	"errors"

	"github.com/skeptic-dev/skeptic/internal/field"
)

// Exit codes, as Jepsen's (shared/ARCHITECTURE.md).
const (
	// ExitValid means every checked key was linearizable.
	ExitValid = 0
	// ExitInvalid means at least one key was not linearizable.
	ExitInvalid = 1
	// ExitUnknown means the checker could not decide (it timed out) and nothing was found invalid.
	ExitUnknown = 2
	// ExitBadConfig means bad arguments or a bad config (a *field.Error); the message names the field, which the
	// CLI shows as the flag that fills it.
	ExitBadConfig = 254
	// ExitError means a setup or internal error; the message says what failed.
	ExitError = 255
)

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
	if _, ok := field.As(err); ok {
		return err
	}
	return &SetupError{Stage: stage, Err: err}
}

// ExitCode maps the outcome of Run (or of an offline check) to the process exit code: a *field.Error anywhere
// in err's chain (a bad value of the configuration) gives ExitBadConfig, any other error ExitError, and otherwise
// the verdict decides. It looks at the error's type only, never at its text.
func ExitCode(v Verdict, err error) int {
	if err != nil {
		if _, ok := field.As(err); ok {
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

// IsConfigError reports whether err is, or wraps, a bad value of the configuration (a *field.Error): the user's
// input is at fault, and running again with the same input cannot help.
func IsConfigError(err error) bool {
	_, ok := field.As(err)
	return ok
}
