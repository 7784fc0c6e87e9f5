package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/internal/vectorstest"
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
		{[]string{"run", "--time-limit", "0"}, "--time-limit: must be > 0"},
		{[]string{"run", "--time-limit", "soon"}, `invalid argument "soon" for "--time-limit" flag: want seconds (60) or a duration`},
		{[]string{"run", "--runtime", "k8s"}, `--runtime: unknown runtime "k8s"`},
		{[]string{"run", "--nemesis", "meteor"}, `--nemesis: unknown fault "meteor"`},
		{[]string{"run", "--flaw", "typo"}, `--flaw: unknown flaw "typo"`},
		{[]string{"run", "extra"}, `unknown command "extra"`},
		{[]string{"run", "--config", "/no/such/config.json"}, "--config: open /no/such/config.json: no such file or directory"},
		{[]string{"run", "--nemesis-schedule", "/no/such/schedule.json"}, "--nemesis-schedule: stat /no/such/schedule.json"},
		{[]string{"run", "--kill", "everyone"}, `--kill: unknown strategy "everyone"`},
		// Values of faults that are not enabled are still checked, and a value flag enables its fault.
		{[]string{"run", "--loss", "150"}, "--loss: must be a percentage between 0 and 100, got 150"},
		{[]string{"run", "--nemesis", "kill", "--loss", "-5"}, "--loss: must be a percentage between 0 and 100, got -5"},
		{[]string{"run", "--nemesis", "loss", "--loss", "0"}, "--loss: must be a percentage in (0, 100], got 0"},
		{[]string{"run", "--delay", "-5ms"}, "--delay: must be >= 0, got -5ms"},
		{[]string{"run", "--nemesis", "kill", "--nemesis-interval", "0"}, "--nemesis-interval: must be > 0, got 0s"},
		{[]string{"run", "--nemesis", "none,kill"}, `--nemesis: none cannot be combined with other faults (got "none,kill")`},
		{[]string{"run", "--nemesis", "none", "--partition", "one"}, "--partition: given with --nemesis none"},
		{[]string{"run", "--subnet", "300.1.2.3/24"}, `--subnet: "300.1.2.3/24" is not an IPv4 CIDR`},
		{[]string{"run", "--subnet", "10.201.77.128/25"}, `--subnet: "10.201.77.128/25" is too small; use a /24 or larger`},
		{[]string{"run", "--subnet", "10.201.77.5/24"}, `--subnet: "10.201.77.5/24" has host bits set; did you mean 10.201.77.0/24?`},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"check"}, "accepts 1 arg(s), received 0"},
		{[]string{"check", "/no/such/history.jsonl"}, "FILE: stat /no/such/history.jsonl: no such file or directory"},
		{[]string{"check", "--format", "xml", "h.edn"}, `invalid argument "xml" for "--format" flag: unknown format "xml"; want one of jepsen-edn, jepsen-log, skeptic`},
		{[]string{"check", "--fail-cas", "maybe", "h.edn"}, `invalid argument "maybe" for "--fail-cas" flag: unknown fail-cas reading "maybe"; want observed or never-happened`},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := executeContext(context.Background(), c.args, &out, &errb)
			require.Equal(t, 254, code, "stderr:\n%s", errb.String())
			require.Contains(t, errb.String(), c.want)
		})
	}
}

func TestVersion(t *testing.T) {
	var out, errb bytes.Buffer
	code := executeContext(context.Background(), []string{"version"}, &out, &errb)
	require.Equal(t, 0, code, "version: %s", errb.String())
	assert.Regexp(t, `^skeptic `, out.String())
}

// TestCheckExitCodes re-checks Jepsen histories with known verdicts, in both of Jepsen's formats, and a
// deadline too short to decide: exit 0 for linearizable, 1 for not, 2 for unknown, and the results and
// visualizations land in --out.
func TestCheckExitCodes(t *testing.T) {
	dir := vectorstest.Dir(t)
	for _, c := range []struct {
		file  string
		extra []string
		code  int
		say   string
	}{
		{"etcd_002.log", nil, 0, "verdict: valid"},
		{"etcd_002.edn", nil, 0, "verdict: valid"},
		{"etcd_000.log", nil, 1, "verdict: INVALID"},
		{"etcd_001.edn", nil, 1, "verdict: INVALID"},
		{"etcd_000.edn", []string{"--check-timeout", "1ns"}, 2, "verdict: unknown"},
	} {
		t.Run(c.file+strings.Join(c.extra, ""), func(t *testing.T) {
			out := t.TempDir()
			args := append([]string{"check", "--out", out, filepath.Join(dir, c.file)}, c.extra...)
			var stdout, stderr bytes.Buffer
			code := executeContext(context.Background(), args, &stdout, &stderr)
			require.Equal(t, c.code, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			assert.Contains(t, stdout.String(), c.say, "the verdict")
			assert.Contains(t, stdout.String(), "key r ", "the key")
			assert.FileExists(t, filepath.Join(out, "results.json"))
			html, _ := filepath.Glob(filepath.Join(out, "*.html"))
			if c.code == 1 {
				assert.Len(t, html, 1, "the invalid key's visualization")
			} else {
				assert.Empty(t, html, "no visualization for exit %d", c.code)
			}
		})
	}
}

// TestCheckBadFile checks that a history that is not one exits 254 naming the file and line.
func TestCheckBadFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "history.jsonl")
	good := `{"index":0,"time":1,"process":0,"type":"invoke","f":"read","key":"k","value":null}`
	require.NoError(t, os.WriteFile(p, []byte(good+"\n"+`{"index":1,"time":2,"process":0,"type":"done","f":"read"}`+"\n"), 0o644))
	var stdout, stderr bytes.Buffer
	code := executeContext(context.Background(), []string{"check", "--out", t.TempDir(), p}, &stdout, &stderr)
	assert.Equal(t, 254, code)
	assert.Contains(t, stderr.String(), p+":2:", "the file and line")
	assert.Contains(t, stderr.String(), `"type"`, "the field")
}

// TestCheckTornTail checks a history whose last line a crash cut off mid-write: the whole lines are checked (a
// stale read among them is found), and the torn line is reported as a warning.
func TestCheckTornTail(t *testing.T) {
	p := filepath.Join(t.TempDir(), "history.jsonl")
	lines := []string{
		`{"index":0,"time":1,"process":0,"type":"invoke","f":"write","key":"k","value":1}`,
		`{"index":1,"time":2,"process":0,"type":"ok","f":"write","key":"k","value":1}`,
		`{"index":2,"time":3,"process":1,"type":"invoke","f":"read","key":"k","value":null}`,
		`{"index":3,"time":4,"process":1,"type":"ok","f":"read","key":"k","value":null}`,
		`{"index":4,"time":5,"process":0,"type":"invoke","f":"wri`,
	}
	require.NoError(t, os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o644))
	var stdout, stderr bytes.Buffer
	code := executeContext(context.Background(), []string{"check", "--out", t.TempDir(), p}, &stdout, &stderr)
	assert.Equal(t, 1, code, "the stale read; stderr %q", stderr.String())
	assert.Contains(t, stdout.String(), "warning: "+p+":5: torn final line")
}

// TestNoDockerDaemon points DOCKER_HOST at nothing: --runtime docker must exit 255 saying where it looked and
// what to do, and --runtime auto must fall back to local and say why on its first line.
func TestNoDockerDaemon(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	var out, errb bytes.Buffer
	code := executeContext(context.Background(), []string{"run", "--runtime", "docker", "--store", t.TempDir()}, &out, &errb)
	assert.Equal(t, 255, code)
	assert.Contains(t, errb.String(), "no Docker daemon at unix:///nonexistent/docker.sock")
	assert.Contains(t, errb.String(), "use --runtime local")
	// clean has no --runtime: its message must not suggest one.
	errb.Reset()
	code = executeContext(context.Background(), []string{"clean"}, &out, &errb)
	assert.Equal(t, 255, code, "clean")
	assert.Contains(t, errb.String(), "no Docker daemon at unix:///nonexistent/docker.sock", "clean")
	assert.NotContains(t, errb.String(), "--runtime", "clean has no --runtime")
	if testing.Short() || os.Getenv("SKEPTIC_SKIP_E2E") == "1" {
		return
	}
	out.Reset()
	errb.Reset()
	code = executeContext(context.Background(), []string{"run", "--nodes", "1", "--time-limit", "1s", "--recovery", "0s",
		"--node-binary", staticSkeptic(t), "--store", t.TempDir()}, &out, &errb)
	first := strings.SplitN(out.String(), "\n", 2)[0]
	require.Equal(t, 0, code, "%s\n%s", out.String(), errb.String())
	assert.True(t, strings.HasPrefix(first, "runtime: local (no Docker daemon at unix:///nonexistent/docker.sock"), "first line %q", first)
}

// TestRunFromConfig runs a short local test with a partition nemesis, then `run --config` of its config.json
// with one flag changed: the second run must record the same test (seed, workload, fault schedule) but for
// that flag.
func TestRunFromConfig(t *testing.T) {
	if testing.Short() || os.Getenv("SKEPTIC_SKIP_E2E") == "1" {
		t.Skip("end-to-end test (-short or SKEPTIC_SKIP_E2E=1)")
	}
	store := t.TempDir()
	bin := staticSkeptic(t)
	var out, errb bytes.Buffer
	code := executeContext(context.Background(), []string{"run", "--runtime", "local", "--nodes", "3", "--time-limit", "2s",
		"--recovery", "0s", "--seed", "5", "--nemesis", "partition", "--nemesis-interval", "500ms", "--node-binary", bin,
		"--store", store}, &out, &errb)
	require.Equal(t, 0, code, "first run\n%s\n%s", out.String(), errb.String())
	first, err := filepath.EvalSymlinks(filepath.Join(store, "latest"))
	require.NoError(t, err)
	require.Contains(t, out.String(), "re-run: skeptic run --config "+filepath.Join(store, "paxos-kv"), "the re-run line")
	out.Reset()
	code = executeContext(context.Background(), []string{"run", "--config", filepath.Join(first, "config.json"), "--rate", "300"}, &out, &errb)
	require.Equal(t, 0, code, "re-run\n%s\n%s", out.String(), errb.String())
	second, _ := filepath.EvalSymlinks(filepath.Join(store, "latest"))
	require.NotEqual(t, first, second, "the re-run makes its own run folder")
	var a, b map[string]json.RawMessage
	for _, c := range []struct {
		dir string
		m   *map[string]json.RawMessage
	}{{first, &a}, {second, &b}} {
		raw, err := os.ReadFile(filepath.Join(c.dir, "config.json"))
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(raw, c.m))
	}
	for k := range a {
		if k == "rate" {
			assert.NotEqual(t, string(a[k]), string(b[k]), "config.json field %q changes", k)
		} else {
			assert.Equal(t, string(a[k]), string(b[k]), "config.json field %q", k)
		}
	}
	assert.Contains(t, string(a["nemesis"]), `"start-partition"`, "the first run recorded its schedule")
}

// TestSecondsFlag checks that duration flags take Jepsen's bare seconds as well as Go durations.
func TestSecondsFlag(t *testing.T) {
	for in, want := range map[string]time.Duration{"60": time.Minute, "1.5": 1500 * time.Millisecond, "90s": 90 * time.Second, "2m": 2 * time.Minute} {
		var d time.Duration
		assert.NoError(t, (seconds{&d}).Set(in), in)
		assert.Equal(t, want, d, "Set(%q)", in)
	}
}

// TestNodeExitCodes checks the mounted `skeptic node`: a bad flag value exits 254, a node that cannot start 255.
func TestNodeExitCodes(t *testing.T) {
	var out, errb bytes.Buffer
	code := executeContext(context.Background(), []string{"node", "--id", "n1", "--peers", "garbage"}, &out, &errb)
	assert.Equal(t, 254, code, "bad --peers")
	assert.Contains(t, errb.String(), "--peers")
	errb.Reset()
	code = executeContext(context.Background(), []string{"node", "--bogus"}, &out, &errb)
	assert.Equal(t, 254, code, "unknown flag")
	assert.Contains(t, errb.String(), "unknown flag: --bogus")
}

// TestBadConfigFileNamesFileAndLine: a corrupt or wrong --config file exits 254 with the file named, and the line
// where the JSON breaks; a bad value the file holds (and the command line does not override) is blamed on the
// file, not on a flag the user never typed.
func TestBadConfigFileNamesFileAndLine(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		return p
	}
	trunc := write("trunc.json", "{\n  \"nodes\": 3,\n")
	syntax := write("syntax.json", "{\n  \"nodes\": 3,\n  \"rate\" 5\n}\n")
	typ := write("type.json", "{\n  \"nodes\": \"three\"\n}\n")
	zero := write("zero.json", "{\n  \"nodes\": 0\n}\n")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--config", trunc}, "--config: " + trunc + " is not a skeptic config.json: the file ends early, after line 2 (unexpected EOF)"},
		{[]string{"run", "--config", syntax}, "--config: " + syntax + " is not a skeptic config.json: line 3: invalid character '5'"},
		{[]string{"run", "--config", typ}, "--config: " + typ + " is not a skeptic config.json: line 2: json: cannot unmarshal string"},
		{[]string{"run", "--config", zero}, "--config: " + zero + ": the recorded --nodes: must be >= 1, got 0"},
		{[]string{"run", "--config", zero, "--nodes", "-1"}, "skeptic: --nodes: must be >= 1, got -1"},
	} {
		var out, errb bytes.Buffer
		code := executeContext(context.Background(), c.args, &out, &errb)
		assert.Equal(t, 254, code, "%v", c.args)
		assert.Contains(t, errb.String(), c.want, "%v", c.args)
	}
}

// TestCheckEmptyHistoryIsNotValid: a history with no client operation (an empty file, or only nemesis events)
// exits 254 saying there is nothing to check, not 0 "valid".
func TestCheckEmptyHistoryIsNotValid(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"empty.jsonl":   "",
		"nemesis.jsonl": `{"index":0,"time":1,"process":"nemesis","type":"info","f":"kill","value":{"nodes":["n1"]}}` + "\n",
	} {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		var stdout, stderr bytes.Buffer
		code := executeContext(context.Background(), []string{"check", "--out", t.TempDir(), p}, &stdout, &stderr)
		assert.Equal(t, 254, code, "%s: stdout %q", name, stdout.String())
		assert.Contains(t, stderr.String(), "FILE: "+p+" holds no client operations: nothing to check", name)
	}
}

// TestCheckJepsenFormats: `skeptic check` tells the format by content (a Jepsen log named .edn, an EDN history
// with no :time named .txt), or reads the one --format names; a stale read in EDN with no :time is caught
// (exit 1); --fail-cas never-happened drops a failed cas that observed is invalid on; a file of no known
// format exits 254 saying what was tried.
func TestCheckJepsenFormats(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		return p
	}
	stale := write("stale.txt", "{:type :invoke, :f :write, :value 1, :process 0, :index 0}\n"+
		"{:type :ok, :f :write, :value 1, :process 0, :index 1}\n"+
		"{:type :invoke, :f :read, :value nil, :process 1, :index 2}\n"+
		"{:type :ok, :f :read, :value nil, :process 1, :index 3}\n")
	failCAS := write("failcas.edn", "INFO jepsen.util - 0\t:invoke\t:write\t1\n"+
		"INFO jepsen.util - 0\t:ok\t:write\t1\n"+
		"INFO jepsen.util - 1\t:invoke\t:cas\t[1 2]\n"+
		"INFO jepsen.util - 1\t:fail\t:cas\t[1 2]\n")
	junk := write("junk.edn", "hello\n")
	for _, c := range []struct {
		args []string
		code int
		say  string
	}{
		{[]string{stale}, 1, "verdict: INVALID"},
		{[]string{"--format", "jepsen-edn", stale}, 1, "verdict: INVALID"},
		{[]string{"--format", "jepsen-log", stale}, 254, stale + ": not a Jepsen log: no operation line"},
		{[]string{"--format", "skeptic", stale}, 254, stale + ":1: not a history event"},
		{[]string{failCAS}, 1, "verdict: INVALID"},
		{[]string{"--fail-cas", "observed", failCAS}, 1, "verdict: INVALID"},
		{[]string{"--fail-cas", "never-happened", failCAS}, 0, "verdict: valid"},
		{[]string{"--format", "jepsen-log", "--fail-cas", "never-happened", failCAS}, 0, "verdict: valid"},
		{[]string{"--format", "jepsen-edn", failCAS}, 254, failCAS + ":1: want an EDN map for each operation"},
		{[]string{junk}, 254, junk + ": cannot tell the format: tried skeptic"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := executeContext(context.Background(), append([]string{"check", "--out", t.TempDir()}, c.args...), &stdout, &stderr)
			require.Equal(t, c.code, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			require.Contains(t, stdout.String()+stderr.String(), c.say)
		})
	}
}
