package harness

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/skeptic-dev/skeptic/internal/field"
	"github.com/skeptic-dev/skeptic/nemesis"
	"github.com/skeptic-dev/skeptic/workloads"
)

// Duration is a time.Duration written in config.json as Go duration text ("60s", "1m30s"), so that the file
// reads like the command line that made it; it also reads a number of nanoseconds. It is the nemesis's
// Duration, so that config.json writes every duration, the Test's and its nemesis's, one way.
type Duration = nemesis.Duration

// Workload names.
const (
	// WorkloadRegister is a few single registers, shared by every worker for the whole run.
	WorkloadRegister = "register"
	// WorkloadKV is many keys, each retired after OpsPerKey operations, so that each key's history stays small
	// enough to check quickly.
	WorkloadKV = "kv"
)

// Runtime choices.
const (
	// RuntimeAuto picks docker when a Docker daemon answers, and local otherwise.
	RuntimeAuto = "auto"
	// RuntimeDocker runs each node in a container (harness/docker).
	RuntimeDocker = "docker"
	// RuntimeLocal runs each node as a child process on loopback (harness/local).
	RuntimeLocal = "local"
	// RuntimeNone tests a running cluster at --endpoints: no lifecycle and no faults.
	RuntimeNone = "none"
)

// NemesisConfig says which faults the nemesis injects. It is part of Test and so of config.json.
type NemesisConfig struct {
	// Options are the fault kinds and their strategies (--nemesis, --partition, --kill, --pause, --clock,
	// --nemesis-interval, --loss, --delay, --jitter), as the nemesis package defines them.
	nemesis.Options
	// ScheduleFile, when set, is a schedule to replay instead of generating one from the seed (--nemesis-schedule).
	ScheduleFile string `json:"schedule_file,omitempty"`
	// Schedule is the schedule actually used. Run fills it in, so that the config.json of a run says exactly
	// which faults were planned when; pass it back as a --nemesis-schedule file to replay them.
	Schedule nemesis.Schedule `json:"schedule,omitempty"`
}

// Enabled reports whether any fault is asked for.
func (n NemesisConfig) Enabled() bool {
	return len(n.Faults) > 0 || n.ScheduleFile != "" || len(n.Schedule) > 0
}

// Test is everything needed to run (and re-run) one test. It is written to the run folder as config.json; the
// command line is only a way of filling it in. Fields tagged json:"-" do not change what the test does.
type Test struct {
	// Name names the test; the store folder is Store/Name/<timestamp>/. Empty means "<target>[-<flaw>]-<workload>".
	Name string `json:"name"`
	// Target is the built-in system under test (--target): paxos or etcd.
	Target string `json:"target"`
	// TargetSpec is a file describing the system under test (--target-spec), used instead of a built-in target.
	TargetSpec string `json:"target_spec,omitempty"`
	// Flaw is the Paxos target's deliberate bug (--flaw), "" or "none" for the correct store: the target option
	// "flaw", refused for a target that has none.
	Flaw string `json:"flaw"`
	// Read is the Paxos target's read mode (--read): index, log or lease; "" lets the target choose. It is the
	// target option "read".
	Read string `json:"read"`
	// TargetOptions are the target's other options (--target-opt NAME=VALUE, --etcd-read).
	TargetOptions map[string]string `json:"target_options,omitempty"`
	// Endpoints, with --runtime none, are the client addresses (id -> host:port) of a running cluster that
	// skeptic did not start and does not fault (--endpoints n1=HOST:PORT,...).
	Endpoints map[string]string `json:"endpoints,omitempty"`
	// Attach, with the docker runtime, names existing containers (id -> container) to test and fault instead of
	// starting new ones (--attach n1=CONTAINER,...); they are never stopped or removed.
	Attach map[string]string `json:"attach,omitempty"`
	// Nodes is the cluster size (--nodes).
	Nodes int `json:"nodes"`
	// Concurrency is the number of workers (--concurrency), bound to nodes round robin.
	Concurrency int `json:"concurrency"`
	// Rate is the total operations per second across workers (--rate); 0 means as fast as they go.
	Rate float64 `json:"rate"`
	// TimeLimit is how long workers generate operations (--time-limit).
	TimeLimit Duration `json:"time_limit"`
	// Workload is register or kv (--workload).
	Workload string `json:"workload"`
	// ReadRatio, WriteRatio and CASRatio weight the operation mix (--read-ratio, --write-ratio, --cas-ratio).
	ReadRatio  float64 `json:"read_ratio"`
	WriteRatio float64 `json:"write_ratio"`
	CASRatio   float64 `json:"cas_ratio"`
	// OpsPerKey is how many operations a kv key receives before it is retired (--ops-per-key).
	OpsPerKey int `json:"ops_per_key"`
	// WorkersPerKey is how many kv workers share a key at once (--workers-per-key). 0 means one per node (as
	// workloads.Config.WorkersPerKey 0 does, given the nodes), so that
	// (workers being bound to nodes round robin) every key is read and written through every node: a node that
	// serves stale data then shows on the same key as the writes it missed.
	WorkersPerKey int `json:"workers_per_key"`
	// MaxOps bounds the operations of the whole run (--max-ops); 0 means only the time limit bounds them.
	MaxOps int `json:"max_ops"`
	// FailFast stops the load as soon as a retired key is proven not linearizable (--fail-fast); the run then
	// heals, reads every key and checks the whole history as usual.
	FailFast bool `json:"fail_fast,omitempty"`
	// MinAvailability is the fraction of the load's operations that must succeed, overall and outside the fault
	// windows (--min-availability); a valid run below it is unknown instead. 0 means no minimum.
	MinAvailability float64 `json:"min_availability,omitempty"`
	// OpTimeout bounds each operation (--op-timeout); an operation that times out is recorded as info.
	OpTimeout Duration `json:"op_timeout"`
	// CheckTimeout bounds the linearizability check (--check-timeout); past it the verdict is unknown.
	CheckTimeout Duration `json:"check_timeout"`
	// Recovery is how long to wait after healing before the final reads (--recovery).
	Recovery Duration `json:"recovery"`
	// FinalReadTimeout bounds the final reads of every key from every node (--final-read-timeout).
	FinalReadTimeout Duration `json:"final_read_timeout"`
	// Seed seeds the one random source of the run, handed to the workload and the nemesis (--seed).
	Seed int64 `json:"seed"`
	// Nemesis says which faults to inject.
	Nemesis NemesisConfig `json:"nemesis"`
	// Runtime is auto, docker or local (--runtime); RuntimeUsed records the one chosen.
	Runtime     string `json:"runtime"`
	RuntimeUsed string `json:"runtime_used,omitempty"`
	// Subnet is the Docker network's subnet (--subnet); "" lets the runtime choose.
	Subnet string `json:"subnet,omitempty"`
	// NodeBinary is the program the nodes run (--node-binary); "" builds skeptic itself statically.
	NodeBinary string `json:"node_binary,omitempty"`
	// Store is the root of the run folders (--store).
	Store string `json:"store"`
	// KeepData keeps the nodes' volumes or data folders after the run (--keep-data).
	KeepData bool `json:"keep_data"`
	// LeaveDBRunning skips the teardown of the cluster (--leave-db-running).
	LeaveDBRunning bool `json:"leave_db_running"`
	// TestCount is how many times the CLI runs the test (--test-count); Run itself runs it once.
	TestCount int `json:"test_count"`
	// Versions records the versions of skeptic and Go that ran the test. Run fills it in.
	Versions map[string]string `json:"versions,omitempty"`

	// Out receives the run's console output (the runtime line, progress, the summary); nil means os.Stdout.
	Out io.Writer `json:"-"`
	// Terminal forces (true) the live one-line progress bar; by default it is used when Out is a terminal.
	Terminal *bool `json:"-"`
	// of says which of several runs this is (RunTests), on the run's second line.
	of string
}

// Default returns the defaults of `skeptic run`, chosen so that the default run (5 nodes, 60 s, kv) checks in
// well under a second on a 2-core machine: a bounded rate (500 ops/s, about 30,000 operations) and short-lived
// keys (100 operations each, shared by 5 workers) keep every key's history small, which is what keeps
// Porcupine's search fast. Measured: 12,600 operations at 200 ops/s checked in 21 ms, 43,700 operations
// unpaced (2,700 ops/s) in 78 ms.
func Default() Test {
	t := Test{
		Target:           "paxos",
		Nodes:            5,
		Rate:             500,
		TimeLimit:        Duration(60 * time.Second),
		Workload:         WorkloadKV,
		ReadRatio:        workloads.DefaultReadRatio,
		WriteRatio:       workloads.DefaultWriteRatio,
		CASRatio:         workloads.DefaultCASRatio,
		OpsPerKey:        workloads.DefaultOpsPerKey,
		OpTimeout:        Duration(5 * time.Second), // above the Paxos node's own 3 s request timeout
		CheckTimeout:     Duration(60 * time.Second),
		Recovery:         Duration(10 * time.Second),
		FinalReadTimeout: Duration(30 * time.Second),
		Runtime:          RuntimeAuto,
		Store:            "store",
		TestCount:        1,
	}
	t.Concurrency, _ = ParseConcurrency(DefaultConcurrency, t.Nodes)
	return t
}

var (
	testNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	optionRE   = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
)

// LoadConfig reads a run's config.json, to run the same test again, with the defaults (Default, and the nemesis's
// for the faults it enables) filling what the file leaves out. Errors are *field.Error for the field "config".
func LoadConfig(path string) (Test, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Test{}, field.Errorf("config", "%v", err)
	}
	t := Default()
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&t); err != nil {
		return Test{}, field.Errorf("config", "%s is not a skeptic config.json: %s", path, jsonErrLine(b, err))
	}
	return t.WithDefaults(), nil
}

// jsonErrLine prefixes a JSON decoding error with its line, where the error says where it is.
func jsonErrLine(b []byte, err error) string {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return fmt.Sprintf("the file ends early, after line %d (%v)", 1+bytes.Count(bytes.TrimRight(b, " \t\r\n"), []byte("\n")), err)
	}
	if off < 0 {
		return err.Error()
	}
	off = max(0, min(off-1, int64(len(b))))
	return fmt.Sprintf("line %d: %v", 1+bytes.Count(b[:off], []byte("\n")), err)
}

// TestName returns t.Name, or the default name built from the target, flaw and workload.
func (t Test) TestName() string {
	if t.Name != "" {
		return t.Name
	}
	parts := []string{t.targetName()}
	if t.Flaw != "" && t.Flaw != "none" {
		parts = append(parts, t.Flaw)
	}
	if t.Read != "" {
		parts = append(parts, "read-"+t.Read)
	}
	parts = append(parts, t.Workload)
	return strings.Join(parts, "-")
}

// WithDefaults fills what a Test built by hand or read from a file may leave out and Default cannot give, because
// it depends on other fields: the strategies and values of the enabled fault kinds (nemesis.Options.WithDefaults,
// which also clears those of kinds not enabled). It is the one place a Test's defaults are applied after Default;
// the CLI's flags and config.json both come through it (ParseNemesis and LoadConfig), and Run relies on it.
func (t Test) WithDefaults() Test {
	if len(t.Nemesis.Faults) > 0 {
		t.Nemesis.Options = t.Nemesis.Options.WithDefaults()
	}
	return t
}

// Validate checks every field of a Test with its defaults applied (WithDefaults), and returns a *field.Error
// naming the first bad one by its config.json path, such as concurrency: "must be >= 1, got 0". The nemesis's
// fields are named under "nemesis" ("nemesis.loss_percent"), the target's options under "target_options".
func (t Test) Validate() error {
	if t.Name != "" && !testNameRE.MatchString(t.Name) {
		return field.Errorf("name", "%q must start with a letter or digit and hold only letters, digits, '.', '_' and '-'", t.Name)
	}
	if _, err := newTarget(t); err != nil {
		return err
	}
	for k := range t.TargetOptions {
		if !optionRE.MatchString(k) {
			return field.Errorf("target_options", "%q is not an option name (lower-case letters, digits and '-')", k)
		}
	}
	if t.Nodes < 1 {
		return field.Errorf("nodes", "must be >= 1, got %d", t.Nodes)
	}
	if t.Nodes > 9 {
		return field.Errorf("nodes", "must be <= 9 on one machine, got %d", t.Nodes)
	}
	if t.Concurrency < 1 {
		return field.Errorf("concurrency", "must be >= 1, got %d", t.Concurrency)
	}
	if t.Concurrency > 1000 {
		return field.Errorf("concurrency", "must be <= 1000, got %d", t.Concurrency)
	}
	if t.Rate < 0 {
		return field.Errorf("rate", "must be >= 0 (0 means as fast as possible), got %g", t.Rate)
	}
	if t.TimeLimit.D() <= 0 {
		return field.Errorf("time_limit", "must be > 0, got %s", t.TimeLimit.D())
	}
	switch t.Workload {
	case WorkloadRegister, WorkloadKV:
	default:
		return field.Errorf("workload", "unknown workload %q (want register or kv)", t.Workload)
	}
	for _, r := range []struct {
		field string
		v     float64
	}{{"read_ratio", t.ReadRatio}, {"write_ratio", t.WriteRatio}, {"cas_ratio", t.CASRatio}} {
		if math.IsNaN(r.v) || r.v < 0 || r.v > 1 {
			return field.Errorf(r.field, "must be between 0 and 1, got %g", r.v)
		}
	}
	if t.ReadRatio+t.WriteRatio+t.CASRatio <= 0 {
		return field.Errorf("read_ratio", "the read, write and cas ratios are all 0; at least one must be > 0")
	}
	if t.OpsPerKey < 1 {
		return field.Errorf("ops_per_key", "must be >= 1, got %d", t.OpsPerKey)
	}
	if t.WorkersPerKey < 0 {
		return field.Errorf("workers_per_key", "must be >= 0 (0 means one per node), got %d", t.WorkersPerKey)
	}
	if t.MaxOps < 0 {
		return field.Errorf("max_ops", "must be >= 0 (0 means no limit but the time limit), got %d", t.MaxOps)
	}
	if math.IsNaN(t.MinAvailability) || t.MinAvailability < 0 || t.MinAvailability > 1 {
		return field.Errorf("min_availability", "must be a fraction between 0 and 1, got %g", t.MinAvailability)
	}
	if t.OpTimeout.D() <= 0 {
		return field.Errorf("op_timeout", "must be > 0, got %s", t.OpTimeout.D())
	}
	if t.CheckTimeout.D() <= 0 {
		return field.Errorf("check_timeout", "must be > 0, got %s", t.CheckTimeout.D())
	}
	if t.Recovery.D() < 0 {
		return field.Errorf("recovery", "must be >= 0, got %s", t.Recovery.D())
	}
	if t.FinalReadTimeout.D() <= 0 {
		return field.Errorf("final_read_timeout", "must be > 0, got %s", t.FinalReadTimeout.D())
	}
	if len(t.Nemesis.Faults) > 0 {
		if err := t.Nemesis.Options.Validate(); err != nil {
			return nemesisError(err)
		}
	}
	if t.Nemesis.ScheduleFile != "" {
		if len(t.Nemesis.Faults) > 0 && len(t.Nemesis.Schedule) == 0 {
			return field.Errorf("nemesis.schedule_file", "replays a schedule; it cannot be combined with --nemesis %s", strings.Join(t.Nemesis.Faults, ","))
		}
		if _, err := os.Stat(t.Nemesis.ScheduleFile); err != nil {
			return field.Errorf("nemesis.schedule_file", "%v", err)
		}
	}
	switch t.Runtime {
	case RuntimeAuto, RuntimeDocker, RuntimeLocal, RuntimeNone:
	default:
		return field.Errorf("runtime", "unknown runtime %q (want auto, docker, local or none)", t.Runtime)
	}
	if err := t.validateExternal(); err != nil {
		return err
	}
	if t.Subnet != "" {
		p, err := netip.ParsePrefix(t.Subnet)
		if err != nil || !p.Addr().Is4() {
			return field.Errorf("subnet", "%q is not an IPv4 CIDR such as 10.88.0.0/24", t.Subnet)
		}
		if p.Bits() > 24 {
			// The docker runtime gives node i the address .10+i of the subnet's first /24.
			return field.Errorf("subnet", "%q is too small; use a /24 or larger, such as 10.201.7.0/24", t.Subnet)
		}
		if p != p.Masked() {
			return field.Errorf("subnet", "%q has host bits set; did you mean %s?", t.Subnet, p.Masked())
		}
	}
	if t.Store == "" {
		return field.Errorf("store", "must not be empty")
	}
	if t.TestCount < 1 {
		return field.Errorf("test_count", "must be >= 1, got %d", t.TestCount)
	}
	return nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
