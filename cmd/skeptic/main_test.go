package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestBadArgumentsExit254 checks that every kind of bad command line exits 254 with a message naming the flag
// or argument, and a hint.
func TestBadArgumentsExit254(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"run", "--nodes", "x"}, `invalid argument "x" for "--nodes" flag`},
		{[]string{"run", "--concurrency", "0"}, "--concurrency: must be >= 1, got 0"},
		{[]string{"run", "--concurrency", "lots"}, `--concurrency: "lots" is neither an integer nor Kn`},
		{[]string{"run", "--time-limit", "0s"}, "--time-limit: must be > 0"},
		{[]string{"run", "--runtime", "k8s"}, `--runtime: unknown runtime "k8s"`},
		{[]string{"run", "--nemesis", "meteor"}, `--nemesis: unknown fault "meteor"`},
		{[]string{"run", "--flaw", "typo"}, `--flaw: unknown flaw "typo"`},
		{[]string{"run", "extra"}, `unknown command "extra"`},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"check"}, "accepts 1 arg(s), received 0"},
		{[]string{"check", "/no/such/history.jsonl"}, "FILE: stat /no/such/history.jsonl: no such file or directory"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := executeContext(context.Background(), c.args, &out, &errb)
			if code != 254 {
				t.Fatalf("exit %d, want 254; stderr:\n%s", code, errb.String())
			}
			if !strings.Contains(errb.String(), c.want) {
				t.Fatalf("stderr %q does not say %q", errb.String(), c.want)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	var out, errb bytes.Buffer
	if code := executeContext(context.Background(), []string{"version"}, &out, &errb); code != 0 {
		t.Fatalf("version exit %d: %s", code, errb.String())
	}
	if !strings.HasPrefix(out.String(), "skeptic ") {
		t.Fatalf("version printed %q", out.String())
	}
}
