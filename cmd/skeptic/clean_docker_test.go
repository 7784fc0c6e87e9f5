package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/harness/cluster"
	"github.com/skeptic-dev/skeptic/harness/docker"
	"github.com/skeptic-dev/skeptic/targets/paxos"
)

// TestCleanCommandModes: within a label of its own ($SKEPTIC_DOCKER_SCOPE), a bare `skeptic clean` keeps a
// running cluster and says whose it is, and `clean --all` lists it as still running and removes it.
func TestCleanCommandModes(t *testing.T) {
	rt := requireDocker(t)
	bin := staticSkeptic(t)
	stamp := strings.ReplaceAll(strings.ToLower(time.Now().UTC().Format("150405.000")), ".", "-")
	t.Setenv(docker.ScopeEnv, "skeptic.test.scope=cmd-"+stamp)
	target, err := paxos.New(paxos.Options{})
	require.NoError(t, err)
	runID := "cleanmodes-" + stamp
	ctx := context.Background()
	clu, err := rt.Start(ctx, cluster.Spec{RunID: runID, Target: target, Nodes: 1, Binary: bin, RunDir: t.TempDir()})
	require.NoError(t, err)
	defer clu.Teardown(ctx)

	var out, errb bytes.Buffer
	require.Equal(t, 0, executeContext(ctx, []string{"clean"}, &out, &errb), errb.String())
	assert.Contains(t, out.String(), "kept run "+runID+": its harness (pid")
	assert.Contains(t, out.String(), "nothing to remove: every run left is still owned by a live harness")
	objs, err := rt.RunObjects(ctx, runID)
	require.NoError(t, err)
	assert.Len(t, objs, 3, "a bare clean removed some of a live run: %v", objs)

	out.Reset()
	require.Equal(t, 0, executeContext(ctx, []string{"clean", "--all"}, &out, &errb), errb.String())
	assert.Contains(t, out.String(), "clean --all removes every run labelled skeptic, running or not:")
	assert.Contains(t, out.String(), "run "+runID+" (")
	assert.Contains(t, out.String(), "STILL RUNNING")
	assert.Contains(t, out.String(), "removed container skeptic-"+runID+"-n1")
	objs, err = rt.RunObjects(ctx, runID)
	require.NoError(t, err)
	assert.Empty(t, objs)
}
