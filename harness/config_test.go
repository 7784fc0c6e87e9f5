package harness

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/internal/field"
	"github.com/skeptic-dev/skeptic/nemesis"
	"github.com/skeptic-dev/skeptic/workloads"
)

func TestDefaultIsValid(t *testing.T) {
	require.NoError(t, Default().Validate())
	assert.Equal(t, 10, Default().Concurrency, "--concurrency's default, 2n, of the default 5 nodes")
}

// TestOneWorkloadDefault: the Test's workload fields mean what the workload's do: its default operations per key,
// and 0 workers per key for one per node (capped at the workers); a workload error names the Test's field.
func TestOneWorkloadDefault(t *testing.T) {
	assert.Equal(t, workloads.DefaultOpsPerKey, Default().OpsPerKey)
	tc := Default()
	tc.Nodes, tc.Concurrency = 3, 7
	wl, err := newWorkload(tc)
	require.NoError(t, err)
	assert.Equal(t, 3, wl.Config().WorkersPerKey, "one worker per node on each key")
	assert.Equal(t, tc.OpsPerKey, wl.Config().OpsPerKey)
	tc.Concurrency = 2
	wl, err = newWorkload(tc)
	require.NoError(t, err)
	assert.Equal(t, 2, wl.Config().WorkersPerKey, "capped at the workers")
	tc.Concurrency = 0
	_, err = newWorkload(tc)
	fe, ok := field.As(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, "concurrency", fe.Field, "the workload's workers are the Test's concurrency")
}

// TestValidateNamesTheField checks that each bad field is reported as a *field.Error naming the field by its
// config.json path, with a message that says what is wrong, and that ExitCode makes it a bad config (254).
func TestValidateNamesTheField(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*Test)
		field string
		want  string
	}{
		{"concurrency", func(t *Test) { t.Concurrency = 0 }, "concurrency", "must be >= 1, got 0"},
		{"nodes", func(t *Test) { t.Nodes = 0 }, "nodes", "must be >= 1, got 0"},
		{"too many nodes", func(t *Test) { t.Nodes = 10 }, "nodes", "must be <= 9"},
		{"rate", func(t *Test) { t.Rate = -1 }, "rate", "must be >= 0"},
		{"time limit", func(t *Test) { t.TimeLimit = 0 }, "time_limit", "must be > 0, got 0s"},
		{"workload", func(t *Test) { t.Workload = "bank" }, "workload", `unknown workload "bank"`},
		{"read ratio", func(t *Test) { t.ReadRatio = 2 }, "read_ratio", "must be between 0 and 1, got 2"},
		{"cas ratio", func(t *Test) { t.CASRatio = -0.5 }, "cas_ratio", "must be between 0 and 1"},
		{"all ratios zero", func(t *Test) { t.ReadRatio, t.WriteRatio, t.CASRatio = 0, 0, 0 }, "read_ratio", "the read, write and cas ratios are all 0"},
		{"ops per key", func(t *Test) { t.OpsPerKey = 0 }, "ops_per_key", "must be >= 1, got 0"},
		{"op timeout", func(t *Test) { t.OpTimeout = 0 }, "op_timeout", "must be > 0"},
		{"check timeout", func(t *Test) { t.CheckTimeout = -1 }, "check_timeout", "must be > 0"},
		{"recovery", func(t *Test) { t.Recovery = Duration(-time.Second) }, "recovery", "must be >= 0, got -1s"},
		{"flaw", func(t *Test) { t.Flaw = "typo" }, "target_options.flaw", `unknown flaw "typo"`},
		{"read mode", func(t *Test) { t.Read = "dirty" }, "target_options.read", `unknown read "dirty" for target paxos (want index, log, lease)`},
		{"target option name", func(t *Test) { t.TargetOptions = map[string]string{"Bad Name": "x"} }, "target_options.Bad Name", `target paxos has no option "Bad Name"`},
		{"fault", func(t *Test) { t.Nemesis.Faults = []string{"meteor"} }, "nemesis.faults", `unknown fault "meteor"`},
		{"nemesis interval", func(t *Test) { t.Nemesis.Faults = []string{"kill"}; t.Nemesis.Interval = -1 }, "nemesis.interval", "must be > 0"},
		{"loss", func(t *Test) { t.Nemesis.Faults = []string{"loss"}; t.Nemesis.LossPercent = 150 }, "nemesis.loss_percent", "must be a percentage"},
		{"schedule file", func(t *Test) { t.Nemesis.ScheduleFile = "/no/such/schedule.json" }, "nemesis.schedule_file", "stat /no/such/schedule.json"},
		{"runtime", func(t *Test) { t.Runtime = "k8s" }, "runtime", `unknown runtime "k8s" (want auto, docker, local or none)`},
		{"subnet", func(t *Test) { t.Subnet = "10.0.0.0" }, "subnet", `"10.0.0.0" is not an IPv4 CIDR`},
		{"small subnet", func(t *Test) { t.Subnet = "10.0.0.0/30" }, "subnet", "\"10.0.0.0/30\" is too small"},
		{"store", func(t *Test) { t.Store = "" }, "store", "must not be empty"},
		{"test count", func(t *Test) { t.TestCount = 0 }, "test_count", "must be >= 1, got 0"},
		{"name", func(t *Test) { t.Name = "../escape" }, "name", `"../escape" must start with a letter or digit`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tc := Default()
			c.edit(&tc)
			err := tc.WithDefaults().Validate()
			fe, ok := field.As(err)
			require.True(t, ok, "Validate() = %v, want a *field.Error", err)
			assert.Equal(t, c.field, fe.Field)
			assert.True(t, strings.HasPrefix(fe.Msg, c.want), "message %q, want it to start with %q", fe.Msg, c.want)
			assert.NotRegexp(t, `^--`, fe.Msg, "the message names no flag: only cmd/skeptic knows the flags")
			assert.Equal(t, ExitBadConfig, ExitCode(Valid, err))
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
		{"xn", 5, 0, `"xn" is neither`}, {"two", 5, 0, `"two" is neither`},
	} {
		got, err := ParseConcurrency(c.in, c.nodes)
		if c.err != "" {
			fe, ok := field.As(err)
			require.True(t, ok, "ParseConcurrency(%q) error = %v, want a *field.Error", c.in, err)
			assert.Equal(t, "concurrency", fe.Field)
			assert.True(t, strings.HasPrefix(fe.Msg, c.err), "ParseConcurrency(%q): %q, want %q", c.in, fe.Msg, c.err)
			continue
		}
		require.NoError(t, err, c.in)
		assert.Equal(t, c.want, got, "ParseConcurrency(%q, %d)", c.in, c.nodes)
	}
}

func TestParseNemesis(t *testing.T) {
	o, err := ParseNemesis(nemesis.Flags{Nemesis: "kill", Partition: "majority"})
	require.NoError(t, err)
	assert.Equal(t, []string{"kill", "partition"}, o.Faults)
	assert.Equal(t, []string{"majority"}, o.Partition)
	assert.NotEmpty(t, o.Kill, "kill strategies defaulted")
	assert.Equal(t, nemesis.DefaultInterval, o.Interval.D())
	for _, c := range []struct {
		f     nemesis.Flags
		field string
		want  string
	}{
		{nemesis.Flags{Nemesis: "flood"}, "nemesis.faults", `unknown fault "flood"`},
		{nemesis.Flags{Kill: "everyone"}, "nemesis.kill", `unknown strategy "everyone"`},
		{nemesis.Flags{Nemesis: "loss", Loss: 120}, "nemesis.loss_percent", "must be a percentage"},
		{nemesis.Flags{Nemesis: "none", Kill: "one"}, "nemesis.kill", "given with --nemesis none"},
	} {
		_, err := ParseNemesis(c.f)
		fe, ok := field.As(err)
		require.True(t, ok, "ParseNemesis(%+v) = %v, want a *field.Error", c.f, err)
		assert.Equal(t, c.field, fe.Field, "ParseNemesis(%+v)", c.f)
		assert.True(t, strings.HasPrefix(fe.Msg, c.want), "ParseNemesis(%+v): %q, want %q", c.f, fe.Msg, c.want)
	}
	none, err := ParseNemesis(nemesis.Flags{Nemesis: "none"})
	require.NoError(t, err)
	assert.Empty(t, none.Faults)
}

// TestWithDefaultsFillsTheNemesis: a config.json (or a Test built by hand) that enables a fault and says no more
// gets the nemesis's defaults in one place, and is then valid; a Test without faults is left as it is.
func TestWithDefaultsFillsTheNemesis(t *testing.T) {
	tc := Default()
	tc.Nemesis.Faults = []string{nemesis.FaultKill}
	require.Error(t, tc.Validate(), "without its defaults, an enabled kind has no strategy")
	d := tc.WithDefaults()
	require.NoError(t, d.Validate())
	assert.Equal(t, nemesis.DefaultKill, d.Nemesis.Kill)
	assert.Equal(t, nemesis.DefaultInterval, d.Nemesis.Interval.D())
	assert.Equal(t, Default(), Default().WithDefaults())

	path := filepath.Join(t.TempDir(), "config.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"nodes": 3, "nemesis": {"faults": ["pause"]}}`), 0o644))
	lc, err := LoadConfig(path)
	require.NoError(t, err)
	assert.Equal(t, 3, lc.Nodes)
	assert.Equal(t, nemesis.DefaultPause, lc.Nemesis.Pause)
	require.NoError(t, lc.Validate())
}

// TestConfigRoundTrip checks that config.json reads back as the same test, with durations as text.
func TestConfigRoundTrip(t *testing.T) {
	tc := Default()
	tc.Seed = 42
	tc.Nemesis.Faults = []string{"partition"}
	b, err := json.Marshal(tc)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"time_limit":"1m0s"`, "time_limit written as text")
	var back Test
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, tc.TimeLimit, back.TimeLimit)
	assert.Equal(t, int64(42), back.Seed)
	assert.Equal(t, []string{"partition"}, back.Nemesis.Faults)
	assert.Equal(t, tc.Rate, back.Rate)
}

func TestExitCodes(t *testing.T) {
	for _, c := range []struct {
		v    Verdict
		err  error
		want int
	}{
		{Valid, nil, 0}, {Invalid, nil, 1}, {Unknown, nil, 2},
		{Valid, field.Errorf("nodes", "bad"), 254},
		{Valid, fmt.Errorf("run 2: %w", field.Errorf("nodes", "bad")), 254},
		{Invalid, &SetupError{Stage: "start cluster", Err: errors.New("boom")}, 255},
		{Valid, ErrInterrupted, 255},
	} {
		assert.Equal(t, c.want, ExitCode(c.v, c.err), "ExitCode(%s, %v)", c.v, c.err)
	}
	assert.Equal(t, 1, WorstExit(0, 1, 0))
	assert.Equal(t, 2, WorstExit(1, 2))
	assert.Equal(t, 255, WorstExit(0, 255, 1))
	assert.Equal(t, 0, WorstExit())
}

// TestClassifiedByTypeNotText: an error is a bad config (254) because of its type, whatever its text says. A
// plain error whose message looks like a flag's ("--nodes: bad") is a setup error (255), and a *field.Error
// whose message happens to start with "--" is a bad config; setupErr keeps a field error as it is.
func TestClassifiedByTypeNotText(t *testing.T) {
	plain := errors.New("--nodes: must be >= 1, got 0")
	assert.Equal(t, ExitError, ExitCode(Valid, plain))
	assert.False(t, IsConfigError(plain))
	assert.Equal(t, ExitError, ExitCode(Valid, setupErr("start cluster", plain)))

	typed := field.Errorf("nodes", "--nodes is what the message says, and the type decides")
	assert.Equal(t, ExitBadConfig, ExitCode(Valid, typed))
	assert.True(t, IsConfigError(typed))
	assert.Same(t, typed, setupErr("start cluster", typed), "a field error is not made a setup error")
	assert.Equal(t, ExitBadConfig, ExitCode(Valid, fmt.Errorf("context: %w", typed)))
	assert.Equal(t, ExitBadConfig, ExitCode(Valid, errors.Join(plain, typed)))

	noField := &field.Error{Msg: "--runtime none: no faults"}
	assert.Equal(t, ExitBadConfig, ExitCode(Valid, noField))
}

// TestNemesisErrorsUnderNemesis: the nemesis's errors get the field path under "nemesis": a *field.Error keeps
// its field below it, and any other error of the nemesis's options is a bad value of the nemesis as a whole,
// whatever its text.
func TestNemesisErrorsUnderNemesis(t *testing.T) {
	fe, ok := field.As(nemesisError(field.Errorf("loss_percent", "too much")))
	require.True(t, ok)
	assert.Equal(t, "nemesis.loss_percent", fe.Field)
	assert.Equal(t, "too much", fe.Msg)

	fe, ok = field.As(nemesisError(errors.New("--loss: reads like a flag, and is not parsed as one")))
	require.True(t, ok)
	assert.Equal(t, "nemesis", fe.Field)
	assert.Equal(t, "--loss: reads like a flag, and is not parsed as one", fe.Msg)
	assert.NoError(t, nemesisError(nil))
}
