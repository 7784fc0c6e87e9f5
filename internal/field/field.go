// Package field holds the one error type of a bad configuration value: which field of the configuration is at
// fault, and what is wrong with it. It imports nothing of ours, so every package that validates a value (the
// nemesis's options, a workload's mix, the harness's Test) can return it, and only cmd/skeptic decides what
// the user is shown for it: the command-line flag that fills the field, and exit code 254.
//
// A field is named by its path in config.json, its JSON names joined by dots ("concurrency",
// "nemesis.loss_percent"). A package that validates a part of the configuration names the fields relative to
// that part ("loss_percent"), and the package that holds the part puts its own name in front with In.
package field

import (
	"errors"
	"fmt"
)

// Error is a bad value of one configuration field.
type Error struct {
	// Field is the field's path in config.json, such as "nemesis.loss_percent"; empty when the fault is in the
	// configuration as a whole rather than in one field.
	Field string
	// Msg says what is wrong with the value, and what is allowed.
	Msg string
}

// Error returns "field: message", or the message alone when no field is named.
func (e *Error) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// Errorf returns an *Error for field with a formatted message.
func Errorf(field, format string, args ...any) *Error {
	return &Error{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// In puts parent in front of the field path of the *Error in err's chain ("nemesis" and "loss_percent" give
// "nemesis.loss_percent"), and returns any other error as it is. A nil err stays nil.
func In(parent string, err error) error {
	var fe *Error
	if !errors.As(err, &fe) {
		return err
	}
	path := parent
	if fe.Field != "" {
		path += "." + fe.Field
	}
	return &Error{Field: path, Msg: fe.Msg}
}

// As returns the *Error in err's chain, if there is one.
func As(err error) (*Error, bool) {
	var fe *Error
	ok := errors.As(err, &fe)
	return fe, ok
}
