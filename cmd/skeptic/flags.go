package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/pflag"
)

// seconds is a duration flag that also takes a bare number of seconds, as Jepsen's --time-limit 60 does:
// "60", "1.5", "90s" and "2m" are all accepted.
type seconds struct{ d *time.Duration }

// Set parses s as seconds or as a Go duration.
func (v seconds) Set(s string) error {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		*v.d = time.Duration(f * float64(time.Second))
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want seconds (60) or a duration (60s, 1m30s, 500ms)")
	}
	*v.d = d
	return nil
}

// String returns the duration as Go writes it.
func (v seconds) String() string {
	if v.d == nil {
		return "0s"
	}
	return v.d.String()
}

// Type names the flag's kind in --help.
func (v seconds) Type() string { return "duration" }

// durationFlag defines a seconds-or-duration flag on f.
func durationFlag(f *pflag.FlagSet, p *time.Duration, name string, def time.Duration, usage string) {
	*p = def
	f.Var(seconds{p}, name, usage)
}
