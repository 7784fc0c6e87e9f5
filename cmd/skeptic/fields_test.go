package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/harness"
	"github.com/skeptic-dev/skeptic/internal/field"
)

// TestEveryKindOfBadValueExits254 gives a bad value of each kind of field (the Test's own, the workload's, the
// target's options, the nemesis's, the node maps, the other commands' options) and checks that it exits 254
// with the flag the user typed, and never the field's config.json path, in the message.
func TestEveryKindOfBadValueExits254(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--nodes", "0"}, "--nodes: must be >= 1, got 0"},
		{[]string{"run", "--name", "../x"}, `--name: "../x" must start with a letter or digit`},
		{[]string{"run", "--rate", "-1"}, "--rate: must be >= 0"},
		{[]string{"run", "--workload", "bank"}, `--workload: unknown workload "bank"`},
		{[]string{"run", "--read-ratio", "2"}, "--read-ratio: must be between 0 and 1, got 2"},
		{[]string{"run", "--write-ratio", "-1"}, "--write-ratio: must be between 0 and 1, got -1"},
		{[]string{"run", "--read-ratio", "0", "--write-ratio", "0", "--cas-ratio", "0"}, "--read-ratio: the read, write and cas ratios are all 0"},
		{[]string{"run", "--ops-per-key", "0"}, "--ops-per-key: must be >= 1, got 0"},
		{[]string{"run", "--workers-per-key", "-1"}, "--workers-per-key: must be >= 0 (0 means one per node), got -1"},
		{[]string{"run", "--max-ops", "-1"}, "--max-ops: must be >= 0"},
		{[]string{"run", "--min-availability", "2"}, "--min-availability: must be a fraction between 0 and 1, got 2"},
		{[]string{"run", "--op-timeout", "0"}, "--op-timeout: must be > 0"},
		{[]string{"run", "--check-timeout", "0"}, "--check-timeout: must be > 0"},
		{[]string{"run", "--recovery", "-1s"}, "--recovery: must be >= 0, got -1s"},
		{[]string{"run", "--final-read-timeout", "0"}, "--final-read-timeout: must be > 0"},
		{[]string{"run", "--store", ""}, "--store: must not be empty"},
		{[]string{"run", "--test-count", "0"}, "--test-count: must be >= 1, got 0"},
		{[]string{"run", "--target", "nope"}, `--target: unknown target "nope"`},
		{[]string{"run", "--target-spec", filepath.Join(dir, "no-such.yaml")}, "--target-spec: "},
		{[]string{"run", "--target-opt", "novalue"}, `--target-opt: "novalue" is not NAME=VALUE`},
		{[]string{"run", "--target-opt", "speed=11"}, `--target-opt: target paxos has no option "speed" (its options: flaw, read)`},
		{[]string{"run", "--read", "dirty"}, `--read: unknown read "dirty" for target paxos`},
		{[]string{"run", "--target", "etcd", "--etcd-read", "sometimes"}, `--etcd-read: unknown etcd-read "sometimes" for target etcd`},
		{[]string{"run", "--endpoints", "n1"}, `--endpoints: "n1" is not ID=VALUE (for example n1=127.0.0.1:8080)`},
		{[]string{"run", "--attach", "N1=x"}, `--attach: node id "N1" must start with a lower-case letter`},
		{[]string{"run", "--runtime", "none"}, "--runtime: none tests a running cluster: give its client addresses with --endpoints"},
		{[]string{"run", "--pause", "nobody"}, `--pause: unknown strategy "nobody"`},
		{[]string{"run", "--clock", "sundial"}, `--clock: unknown strategy "sundial"`},
		{[]string{"run", "--partition", "everyone"}, `--partition: unknown strategy "everyone"`},
		{[]string{"run", "--nemesis", "kill", "--nemesis-mode", "sideways"}, `--nemesis-mode: unknown mode "sideways"`},
		{[]string{"run", "--jitter", "-1ms"}, "--jitter: must be >= 0, got -1ms"},
		{[]string{"run", "--nemesis", "kill", "--nemesis-schedule", file}, "--nemesis-schedule: replays a schedule; it cannot be combined with --nemesis kill"},
		{[]string{"run", "--junit", filepath.Join(dir, "no", "such", "junit.xml")}, "--junit: "},
		{[]string{"check", "--check-timeout", "0", file}, "--check-timeout: must be > 0, got 0s"},
		{[]string{"check", dir}, "FILE: " + dir + " is a folder"},
		{[]string{"matrix", "--runs", "0", "--store", filepath.Join(dir, "store")}, "--runs: must be >= 1"},
		{[]string{"matrix", "--cells", "stale-reads", "--store", filepath.Join(dir, "store")}, `--cells: "stale-reads" is not FLAW=FAULT`},
		{[]string{"shrink", dir}, "RUN_DIR: open " + filepath.Join(dir, "config.json")},
		{[]string{"report", dir}, "DIR: " + dir + " is not a run folder"},
		{[]string{"serve", "--store", dir, "--addr", "not an address"}, "--addr: "},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := executeContext(context.Background(), c.args, &out, &errb)
			assert.Equal(t, 254, code, "stderr:\n%s", errb.String())
			assert.Contains(t, errb.String(), "skeptic: "+c.want)
			for path := range fieldFlags {
				if strings.Contains(path, "_") || strings.Contains(path, ".") {
					assert.NotContains(t, errb.String(), path+": ", "the message names the flag, not the field")
				}
			}
		})
	}
}

// TestRecordedBadValueBlamesConfig: a bad value a config.json holds, and the command line does not give, is
// blamed on --config, in the words of the flag that would fill it; the same value typed is blamed on the flag.
func TestRecordedBadValueBlamesConfig(t *testing.T) {
	p := filepath.Join(t.TempDir(), "config.json")
	require.NoError(t, os.WriteFile(p, []byte(`{"nemesis": {"faults": ["loss"], "loss_percent": 150}}`), 0o644))
	var out, errb bytes.Buffer
	code := executeContext(context.Background(), []string{"run", "--config", p}, &out, &errb)
	assert.Equal(t, 254, code)
	assert.Contains(t, errb.String(), "skeptic: --config: "+p+": the recorded --loss: must be a percentage between 0 and 100, got 150")

	errb.Reset()
	code = executeContext(context.Background(), []string{"run", "--config", p, "--loss", "120"}, &out, &errb)
	assert.Equal(t, 254, code)
	assert.Contains(t, errb.String(), "skeptic: --loss: must be a percentage between 0 and 100, got 120")
}

// TestClassifiedByTypeOnly: the exit code of an error follows its type, never its text. A plain error that
// reads like a flag's ("--nodes: ...") is a setup error (255); a *field.Error whose message starts with "--"
// is a bad config (254), shown with its field's flag.
func TestClassifiedByTypeOnly(t *testing.T) {
	var ee *exitError
	require.ErrorAs(t, codeFor(harness.Unknown, errors.New("--nodes: must be >= 1")), &ee)
	assert.Equal(t, harness.ExitError, ee.code)

	require.ErrorAs(t, codeFor(harness.Unknown, field.Errorf("nodes", "--nodes-like text is still a message")), &ee)
	assert.Equal(t, harness.ExitBadConfig, ee.code)
	assert.Equal(t, "--nodes: --nodes-like text is still a message", ee.Error())

	// Wrapped, the field error is still found, and shown in the flag's words where it stands.
	require.ErrorAs(t, codeFor(harness.Unknown, fmt.Errorf("run 2 of 3: %w", field.Errorf("nemesis.loss_percent", "too much"))), &ee)
	assert.Equal(t, harness.ExitBadConfig, ee.code)
	assert.Equal(t, "run 2 of 3: --loss: too much", ee.Error())

	// A field no flag fills is shown by its path, which is what a config.json user needs.
	require.ErrorAs(t, codeFor(harness.Unknown, field.Errorf("versions", "cannot be set")), &ee)
	assert.Equal(t, "versions: cannot be set", ee.Error())
}

// TestNodeErrorsByType: `skeptic node` exits 254 for a bad flag value (node.FlagError) and 255 for a node that
// cannot start, even when that message starts with the flag whose value it could not use ("--data DIR: ...").
func TestNodeErrorsByType(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	var out, errb bytes.Buffer
	code := executeContext(context.Background(), []string{"node", "--id", "n1", "--peers", "n1=127.0.0.1:0", "--client-addr", "127.0.0.1:0",
		"--peer-addr", "127.0.0.1:0", "--data", t.TempDir(), "--tick", "1us"}, &out, &errb)
	assert.Equal(t, 254, code, errb.String())
	assert.Contains(t, errb.String(), "--tick: must be at least 1ms")

	errb.Reset()
	code = executeContext(context.Background(), []string{"node", "--id", "n1", "--peers", "n1=127.0.0.1:0", "--client-addr", "127.0.0.1:0",
		"--peer-addr", "127.0.0.1:0", "--data", filepath.Join(file, "data")}, &out, &errb)
	assert.Equal(t, 255, code, errb.String())
	assert.Contains(t, errb.String(), "--data "+filepath.Join(file, "data"))
}

// TestEveryFieldHasItsFlag: every field of the Test (and of the nemesis's options) that a flag fills is in the
// table, so that its errors name the flag; and every path in the table is a field that exists.
func TestEveryFieldHasItsFlag(t *testing.T) {
	paths := map[string]bool{}
	var walk func(prefix string, typ reflect.Type)
	walk = func(prefix string, typ reflect.Type) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if f.Anonymous {
				walk(prefix, f.Type)
				continue
			}
			if name == "" || name == "-" {
				continue
			}
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(harness.Duration(0)) {
				paths[prefix+name] = true
				walk(prefix+name+".", f.Type)
				continue
			}
			paths[prefix+name] = true
		}
	}
	walk("", reflect.TypeOf(harness.Test{}))
	// Filled in by Run, recorded for the reader: no flag gives them.
	for _, p := range []string{"versions", "runtime_used"} {
		require.True(t, paths[p], p)
		delete(paths, p)
	}
	for p := range paths {
		assert.NotEqual(t, p, flagOf(p), "field %s has no flag in fieldFlags", p)
	}
	for p := range fieldFlags {
		if p != "config" && (!strings.Contains(p, ".") || strings.HasPrefix(p, "nemesis.")) {
			assert.True(t, paths[p], "fieldFlags names %s, which is no field of harness.Test", p)
		}
	}
}
