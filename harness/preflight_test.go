package harness

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/harness/docker"
	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/internal/field"
	"github.com/skeptic-dev/skeptic/nemesis"
	"github.com/skeptic-dev/skeptic/nemesis/nft"
)

// refusedBeforeStart runs tc, and checks that it is refused as bad input (exit 254): a *field.Error for
// wantField whose message holds want; and that nothing was created: no run folder, no container or network of
// skeptic.
func refusedBeforeStart(t *testing.T, tc Test, wantField, want string) {
	t.Helper()
	var out bytes.Buffer
	tc.Out = &out
	res, err := Run(context.Background(), tc)
	fe, ok := field.As(err)
	require.True(t, ok, "Run returned %v, want a *field.Error; output:\n%s", err, out.String())
	assert.Equal(t, wantField, fe.Field)
	assert.Contains(t, fe.Msg, want, "output:\n%s", out.String())
	assert.Equal(t, ExitBadConfig, ExitCode(res.Verdict, err))
	assert.NotContains(t, out.String(), "starting", "the cluster was started before the refusal")
	ents, _ := os.ReadDir(tc.Store)
	assert.Empty(t, ents, "the refused run left something in the store")
}

// TestBadScheduleRefusedBeforeTheRunFolder: a --nemesis-schedule that does not parse is reported with its file
// and line, and no run folder is created for it.
func TestBadScheduleRefusedBeforeTheRunFolder(t *testing.T) {
	skipE2E(t)
	tc := Default()
	tc.Runtime = RuntimeLocal
	tc.Store = t.TempDir()
	tc.Seed = 1
	sched := filepath.Join(t.TempDir(), "schedule.json")
	require.NoError(t, os.WriteFile(sched, []byte("[\n {\"at\":\"1s\",\"f\":\"kill\",\"value\":{\"nodes\":[\"n1\"]}},\n {\"at\":\"2s\",\"f\":\"kill\",\"value\":{\"nodes\":[\"n7\"]}}\n]\n"), 0o644))
	tc.Nemesis.ScheduleFile = sched
	refusedBeforeStart(t, tc, "nemesis.schedule_file", sched+`: schedule[1].value.nodes: line 3: op at 2s, kill: unknown node "n7"`)
}

// TestBadStoreIsBadInput: a --store that cannot hold a folder (under a file) is the user's choice at fault: exit
// 254 naming --store, once (not "create store folder: create store folder: ...").
func TestBadStoreIsBadInput(t *testing.T) {
	skipE2E(t)
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	tc := Default()
	tc.Runtime = RuntimeLocal
	tc.Store = filepath.Join(file, "store")
	tc.Out = &bytes.Buffer{}
	res, err := Run(context.Background(), tc)
	fe, ok := field.As(err)
	require.True(t, ok, "Run with --store under a file: %v", err)
	assert.Equal(t, "store", fe.Field)
	assert.Equal(t, 1, strings.Count(err.Error(), "create store folder"), err.Error())
	assert.Equal(t, ExitBadConfig, ExitCode(res.Verdict, err))
}

// TestDockerRefusesDelayAndABadSubnetBeforeStart: on docker, a delay fault on a kernel without sch_netem, and a
// --subnet that overlaps an existing network, are refused as bad input before any folder, network or container
// is created, with a message that says why.
func TestDockerRefusesDelayAndABadSubnetBeforeStart(t *testing.T) {
	requireRuntime(t, RuntimeDocker)
	base := func() Test {
		tc := Default()
		tc.Runtime = RuntimeDocker
		tc.Nodes = 3
		tc.Concurrency = 3
		tc.Store = t.TempDir()
		tc.Seed = 1
		return tc
	}
	t.Run("delay", func(t *testing.T) {
		if nft.NetemSupported() == nil {
			t.Skip("this kernel has sch_netem: delay works on docker")
		}
		tc := base()
		// A short run whose generated schedule holds no delay op at all is refused too: delay was asked for.
		tc.TimeLimit = Duration(time.Second)
		o, err := ParseNemesis(nemesis.Flags{Nemesis: "delay"})
		require.NoError(t, err)
		tc.Nemesis.Options = o
		refusedBeforeStart(t, tc, "nemesis", "sch_netem")
	})
	t.Run("node binary that is no ELF program", func(t *testing.T) {
		tc := base()
		script := filepath.Join(t.TempDir(), "node.sh")
		require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\nexit 0\n"), 0o755))
		tc.NodeBinary = script
		refusedBeforeStart(t, tc, "node_binary", "node binary "+script+" is not an ELF executable the docker runtime can pack")
	})
	t.Run("overlapping subnet", func(t *testing.T) {
		rt, err := docker.New()
		require.NoError(t, err)
		defer rt.Close()
		cli := rt.Client()
		ctx := context.Background()
		const subnet, name = "10.201.251.0/24", "skeptic-test-overlap"
		_, err = cli.NetworkCreate(ctx, name, network.CreateOptions{Driver: "bridge",
			IPAM: &network.IPAM{Config: []network.IPAMConfig{{Subnet: subnet}}}})
		require.NoError(t, err)
		defer cli.NetworkRemove(ctx, name)
		tc := base()
		tc.Subnet = subnet
		refusedBeforeStart(t, tc, "subnet", "unusable subnet: "+subnet+" overlaps the subnet "+subnet+" of the Docker network "+name)
		// Other packages' tests run clusters at the same time: only a network of the refused run, which would have
		// the requested subnet, counts.
		nets, err := cli.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("label", docker.LabelSkeptic+"=1"))})
		require.NoError(t, err)
		for _, n := range nets {
			for _, c := range n.IPAM.Config {
				assert.NotEqual(t, subnet, c.Subnet, "the refused run created network %s with subnet %s", n.Name, subnet)
			}
		}
	})
}

// TestLeaveDBRunningHealsOnEveryPath: with --leave-db-running the cluster outlives the run, so even when the run
// ends by a panic after the load (no final reads, no teardown), every fault is undone first: the paused node
// resumed, the killed node running again, the partition healed.
func TestLeaveDBRunningHealsOnEveryPath(t *testing.T) {
	requireRuntime(t, RuntimeDocker)
	tc := e2eTest(t, RuntimeDocker)
	tc.TimeLimit = Duration(2 * time.Second)
	tc.LeaveDBRunning = true
	sched := filepath.Join(t.TempDir(), "schedule.json")
	require.NoError(t, os.WriteFile(sched, []byte(`[
 {"at":"200ms","f":"pause","value":{"nodes":["n1"]}},
 {"at":"200ms","f":"kill","value":{"nodes":["n2"]}},
 {"at":"200ms","f":"start-partition","value":{"strategy":"one","grudge":{"n3":["n1","n2"],"n1":["n3"],"n2":["n3"]}}}
]`), 0o644))
	tc.Nemesis.ScheduleFile = sched
	var out bytes.Buffer
	tc.Out = &out
	testHookLoadDone = func() { panic("test panic after the load") }
	defer func() { testHookLoadDone = func() {} }()
	res, err := Run(context.Background(), tc)
	t.Logf("output:\n%s", out.String())
	if res.RunID != "" {
		t.Cleanup(func() { _, _ = docker.Clean(context.Background(), res.RunID) })
	}
	require.ErrorContains(t, err, "test panic after the load", "Run returns the panic")
	rt, derr := docker.New()
	require.NoError(t, derr)
	defer rt.Close()
	for _, n := range []string{"n1", "n2", "n3"} {
		name := "skeptic-" + res.RunID + "-" + n
		j, err := rt.Client().ContainerInspect(context.Background(), name)
		require.NoError(t, err, name)
		assert.True(t, j.State.Running && !j.State.Paused, "%s left running %v, paused %v: a fault outlived the run", name, j.State.Running, j.State.Paused)
	}
	events, herr := history.ReadFile(filepath.Join(res.Dir, HistoryFile))
	require.NoError(t, herr)
	var heal *history.Event
	for i := range events {
		if events[i].F == nemesis.FHeal {
			heal = &events[i]
		}
	}
	require.NotNil(t, heal, "a heal event in the history")
	assert.Empty(t, heal.Error, "the heal is clean")
	assert.Contains(t, string(heal.Value), `"net":true`)
}

// TestHealFailureIsReported: when a killed node cannot be restarted at the end of the load (its program is
// gone), the run goes on to its final reads and verdict, but says so: on the console, in results.json
// (heal_error) and in the history's heal event.
func TestHealFailureIsReported(t *testing.T) {
	requireRuntime(t, RuntimeLocal)
	tc := e2eTest(t, RuntimeLocal)
	tc.TimeLimit = Duration(2 * time.Second)
	tc.Recovery = 0
	tc.FinalReadTimeout = Duration(2 * time.Second)
	bin := filepath.Join(t.TempDir(), "node")
	b, err := os.ReadFile(tc.NodeBinary)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(bin, b, 0o755))
	tc.NodeBinary = bin
	sched := filepath.Join(t.TempDir(), "schedule.json")
	require.NoError(t, os.WriteFile(sched, []byte(`[{"at":"300ms","f":"kill","value":{"nodes":["n1"]}}]`), 0o644))
	tc.Nemesis.ScheduleFile = sched
	var out bytes.Buffer
	tc.Out = &out
	testHookLoadDone = func() { os.Remove(bin) }
	defer func() { testHookLoadDone = func() {} }()
	res, err := Run(context.Background(), tc)
	t.Logf("output:\n%s", out.String())
	require.NoError(t, err, "Run")
	assert.Contains(t, res.HealError, "start n1", "results heal_error: the failed restart of n1")
	assert.Contains(t, out.String(), "warning: not every fault was undone before the final reads", "the summary warns about the failed heal")
	raw, err := os.ReadFile(filepath.Join(res.Dir, ResultsFile))
	require.NoError(t, err)
	assert.Contains(t, string(raw), `"heal_error"`, "results.json has heal_error")
}
