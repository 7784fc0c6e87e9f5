package harness

import (
	"strings"

	"github.com/skeptic-dev/skeptic/internal/field"
)

// nemesisError returns an error of the nemesis package's options or schedule generation as a *field.Error
// under "nemesis" (its field "loss_percent" becomes "nemesis.loss_percent"), so that it is a bad value of the
// configuration like any other.
func nemesisError(err error) error {
	if err == nil {
		return nil
	}
	return field.In("nemesis", nemesisFieldUntilTyped(err))
}

// nemesisFieldUntilTyped is temporary: it is needed only until nemesis returns field.Error (issue 11, the
// nemesis refactor), and goes then, with nemesisFlagFields. Until then the nemesis package writes its errors as
// "--flag: message", naming the command-line flag; this turns such a message into a *field.Error named by the
// nemesis.Options field the flag fills. Any other error of the nemesis's options is a bad value of the nemesis
// as a whole (field ""), as it was a bad config before. An error that already holds a *field.Error passes as
// it is.
func nemesisFieldUntilTyped(err error) error {
	if _, ok := field.As(err); ok {
		return err
	}
	s := err.Error()
	for _, ff := range nemesisFlagFields {
		if msg, ok := strings.CutPrefix(s, ff[0]+": "); ok {
			return &field.Error{Field: ff[1], Msg: msg}
		}
	}
	return &field.Error{Msg: s}
}

// nemesisFlagFields maps the nemesis's flags, as its messages start with them, to the JSON names of the
// nemesis.Options fields they fill. Temporary, as nemesisFieldUntilTyped.
var nemesisFlagFields = [][2]string{
	{"--nemesis", "faults"}, {"--partition", "partition"}, {"--kill", "kill"}, {"--pause", "pause"},
	{"--clock", "clock"}, {"--nemesis-interval", "interval"}, {"--nemesis-mode", "mode"},
	{"--loss", "loss_percent"}, {"--delay", "delay"}, {"--jitter", "jitter"},
}
