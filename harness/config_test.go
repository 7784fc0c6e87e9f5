package harness

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/skeptic-dev/skeptic/nemesis"
)

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
}

// TestValidateNamesTheFlag checks that each bad field is reported as a *ConfigError whose message starts with
// the flag the user must change.
func TestValidateNamesTheFlag(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Test)
		want string
	}{
		{"concurrency", func(t *Test) { t.Concurrency = 0 }, "--concurrency: must be >= 1, got 0"},
		{"nodes", func(t *Test) { t.Nodes = 0 }, "--nodes: must be >= 1, got 0"},
		{"too many nodes", func(t *Test) { t.Nodes = 10 }, "--nodes: must be <= 9"},
		{"rate", func(t *Test) { t.Rate = -1 }, "--rate: must be >= 0"},
		{"time limit", func(t *Test) { t.TimeLimit = 0 }, "--time-limit: must be > 0, got 0s"},
		{"workload", func(t *Test) { t.Workload = "bank" }, `--workload: unknown workload "bank"`},
		{"read ratio", func(t *Test) { t.ReadRatio = 2 }, "--read-ratio: must be between 0 and 1, got 2"},
		{"cas ratio", func(t *Test) { t.CASRatio = -0.5 }, "--cas-ratio: must be between 0 and 1"},
		{"all ratios zero", func(t *Test) { t.ReadRatio, t.WriteRatio, t.CASRatio = 0, 0, 0 }, "--read-ratio: the read, write and cas ratios are all 0"},
		{"ops per key", func(t *Test) { t.OpsPerKey = 0 }, "--ops-per-key: must be >= 1, got 0"},
		{"op timeout", func(t *Test) { t.OpTimeout = 0 }, "--op-timeout: must be > 0"},
		{"check timeout", func(t *Test) { t.CheckTimeout = -1 }, "--check-timeout: must be > 0"},
		{"recovery", func(t *Test) { t.Recovery = Duration(-time.Second) }, "--recovery: must be >= 0, got -1s"},
		{"flaw", func(t *Test) { t.Flaw = "typo" }, `--flaw: unknown flaw "typo"`},
		{"read mode", func(t *Test) { t.Read = "dirty" }, `--read: unknown read "dirty" for target paxos (want index, log, lease)`},
		{"fault", func(t *Test) { t.Nemesis.Faults = []string{"meteor"} }, `--nemesis: unknown fault "meteor"`},
		{"nemesis interval", func(t *Test) { t.Nemesis.Faults = []string{"kill"}; t.Nemesis.Interval = -1 }, "--nemesis-interval: must be > 0"},
		{"schedule file", func(t *Test) { t.Nemesis.ScheduleFile = "/no/such/schedule.json" }, "--nemesis-schedule: stat /no/such/schedule.json"},
		{"runtime", func(t *Test) { t.Runtime = "k8s" }, `--runtime: unknown runtime "k8s" (want auto, docker, local or none)`},
		{"subnet", func(t *Test) { t.Subnet = "10.0.0.0" }, `--subnet: "10.0.0.0" is not an IPv4 CIDR`},
		{"small subnet", func(t *Test) { t.Subnet = "10.0.0.0/30" }, "--subnet: \"10.0.0.0/30\" is too small"},
		{"store", func(t *Test) { t.Store = "" }, "--store: must not be empty"},
		{"test count", func(t *Test) { t.TestCount = 0 }, "--test-count: must be >= 1, got 0"},
		{"name", func(t *Test) { t.Name = "../escape" }, `--name: "../escape" must start with a letter or digit`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tc := Default()
			c.edit(&tc)
			err := tc.Validate()
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("Validate() = %v, want a *ConfigError", err)
			}
			if !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("Validate() = %q, want it to start with %q", err, c.want)
			}
			if got := ExitCode(Valid, err); got != ExitBadConfig {
				t.Fatalf("ExitCode = %d, want %d", got, ExitBadConfig)
			}
		})
	}
}

func TestParseConcurrency(t *testing.T) {
	for _, c := range []struct {
		in    string
		nodes int
		want  int
		err   string
	}{
		{"2n", 5, 10, ""}, {"1n", 3, 3, ""}, {"7", 5, 7, ""}, {"0", 5, 0, ""},
		{"xn", 5, 0, `--concurrency: "xn" is neither`}, {"two", 5, 0, `--concurrency: "two" is neither`},
	} {
		got, err := ParseConcurrency(c.in, c.nodes)
		if c.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), c.err) {
				t.Errorf("ParseConcurrency(%q) error = %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseConcurrency(%q, %d) = %d, %v; want %d", c.in, c.nodes, got, err, c.want)
		}
	}
}

func TestParseNemesis(t *testing.T) {
	o, err := ParseNemesis(nemesis.Flags{Nemesis: "kill", Partition: "majority"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(o.Faults, ",") != "kill,partition" || strings.Join(o.Partition, ",") != "majority" || len(o.Kill) == 0 {
		t.Fatalf("ParseNemesis = %+v; want kill and partition(majority), kill strategies defaulted", o)
	}
	if o.Interval.D() != nemesis.DefaultInterval {
		t.Fatalf("interval %s, want the default", o.Interval.D())
	}
	for _, c := range []struct {
		f    nemesis.Flags
		want string
	}{
		{nemesis.Flags{Nemesis: "flood"}, `--nemesis: unknown fault "flood"`},
		{nemesis.Flags{Kill: "everyone"}, `--kill: unknown strategy "everyone"`},
		{nemesis.Flags{Nemesis: "loss", Loss: 120}, "--loss: must be a percentage"},
	} {
		_, err := ParseNemesis(c.f)
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("ParseNemesis(%+v) = %v, want a ConfigError starting %q", c.f, err, c.want)
		}
	}
	none, err := ParseNemesis(nemesis.Flags{Nemesis: "none"})
	if err != nil || len(none.Faults) != 0 {
		t.Fatalf("--nemesis none = %+v, %v", none, err)
	}
}

// TestConfigRoundTrip checks that config.json reads back as the same test, with durations as text.
func TestConfigRoundTrip(t *testing.T) {
	tc := Default()
	tc.Seed = 42
	tc.Nemesis.Faults = []string{"partition"}
	b, err := json.Marshal(tc)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"time_limit":"1m0s"`) {
		t.Fatalf("time_limit not written as text: %s", b)
	}
	var back Test
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.TimeLimit != tc.TimeLimit || back.Seed != 42 || back.Nemesis.Faults[0] != "partition" || back.Rate != tc.Rate {
		t.Fatalf("round trip changed the test: %+v", back)
	}
}

func TestExitCodes(t *testing.T) {
	for _, c := range []struct {
		v    Verdict
		err  error
		want int
	}{
		{Valid, nil, 0}, {Invalid, nil, 1}, {Unknown, nil, 2},
		{Valid, configErrorf("--nodes", "bad"), 254},
		{Invalid, &SetupError{Stage: "start cluster", Err: errors.New("boom")}, 255},
		{Valid, ErrInterrupted, 255},
	} {
		if got := ExitCode(c.v, c.err); got != c.want {
			t.Errorf("ExitCode(%s, %v) = %d, want %d", c.v, c.err, got, c.want)
		}
	}
	if got := WorstExit(0, 1, 0); got != 1 {
		t.Errorf("WorstExit(0,1,0) = %d", got)
	}
	if got := WorstExit(1, 2); got != 2 {
		t.Errorf("WorstExit(1,2) = %d", got)
	}
	if got := WorstExit(0, 255, 1); got != 255 {
		t.Errorf("WorstExit(0,255,1) = %d", got)
	}
	if got := WorstExit(); got != 0 {
		t.Errorf("WorstExit() = %d", got)
	}
}
