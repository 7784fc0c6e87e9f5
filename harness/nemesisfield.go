package harness

import "github.com/skeptic-dev/skeptic/internal/field"

// nemesisError returns an error of the nemesis package's options, schedule or generation as a *field.Error under
// "nemesis": its field "loss_percent" becomes "nemesis.loss_percent", "schedule_file" "nemesis.schedule_file".
// The nemesis names its fields by their JSON names; any other error it returns for the options is a bad value of
// the nemesis as a whole, as it always was a bad config (the type of the call, not the text, says so).
func nemesisError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := field.As(err); !ok {
		err = &field.Error{Msg: err.Error()}
	}
	return field.In("nemesis", err)
}
