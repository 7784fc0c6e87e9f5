package cluster

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/targets"
)

type nopTarget struct{}

func (nopTarget) Name() string                                   { return "nop" }
func (nopTarget) Capabilities() []targets.Capability             { return nil }
func (nopTarget) Args(targets.NodeArgs) ([]string, error)        { return nil, nil }
func (nopTarget) Env(targets.NodeArgs) ([]string, error)         { return nil, nil }
func (nopTarget) NewClient(targets.Node) (targets.Client, error) { return nil, nil }

func TestNodeIDs(t *testing.T) {
	assert.Equal(t, "n1,n2,n3,n4,n5,n6,n7,n8,n9,n10,n11,n12", strings.Join(NodeIDs(12), ","))
}

func TestValidateNamesTheField(t *testing.T) {
	exe, err := os.Executable()
	require.NoError(t, err)
	ok := Spec{RunID: "r1", Target: nopTarget{}, Nodes: 3, Binary: exe, RunDir: t.TempDir()}
	require.NoError(t, ok.Validate(), "valid spec")
	notExec := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(notExec, nil, 0o644))
	cases := []struct {
		edit func(*Spec)
		want string
	}{
		{func(s *Spec) { s.RunID = "" }, "RunID is empty"},
		{func(s *Spec) { s.RunID = "-x" }, "RunID"},
		{func(s *Spec) { s.RunID = "a b" }, "RunID"},
		{func(s *Spec) { s.Target = nil }, "Target is nil"},
		{func(s *Spec) { s.Nodes = 0 }, "Nodes is 0"},
		{func(s *Spec) { s.Nodes = MaxNodes + 1 }, "Nodes is"},
		{func(s *Spec) { s.Binary = "" }, "Binary and Image are both empty"},
		{func(s *Spec) { s.Binary = "/no/such/file" }, "Binary"},
		{func(s *Spec) { s.Binary = notExec }, "not an executable"},
		{func(s *Spec) { s.RunDir = "" }, "RunDir is empty"},
	}
	for _, tc := range cases {
		s := ok
		tc.edit(&s)
		assert.ErrorContains(t, s.Validate(), tc.want)
	}
}

func TestGateLetsOneInAtATime(t *testing.T) {
	g := NewGate()
	leave, err := g.Enter(context.Background())
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = g.Enter(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded, "second Enter while the first is inside")
	require.ErrorContains(t, err, "teardown in progress")
	entered := make(chan func())
	go func() {
		l, err := g.Enter(context.Background())
		assert.NoError(t, err)
		entered <- l
	}()
	select {
	case <-entered:
		require.FailNow(t, "entered while the first was inside")
	case <-time.After(20 * time.Millisecond):
	}
	leave()
	(<-entered)()
}

// renderTarget renders a node's arguments and environment from its id, and fails for the node named in bad.
type renderTarget struct {
	nopTarget
	badArgs, badEnv string
}

func (r renderTarget) Args(a targets.NodeArgs) ([]string, error) {
	if a.ID == r.badArgs {
		return nil, errors.New("no such field")
	}
	return []string{"--id=" + a.ID}, nil
}

func (r renderTarget) Env(a targets.NodeArgs) ([]string, error) {
	if a.ID == r.badEnv {
		return nil, errors.New("bad template")
	}
	return []string{"NODE=" + a.ID}, nil
}

// TestCommand: a node's arguments and environment come from the Target, and a failure names the node and which
// of the two failed.
func TestCommand(t *testing.T) {
	args, env, err := Spec{Target: renderTarget{}}.Command(targets.NodeArgs{ID: "n2"})
	require.NoError(t, err)
	assert.Equal(t, []string{"--id=n2"}, args)
	assert.Equal(t, []string{"NODE=n2"}, env)

	_, _, err = Spec{Target: renderTarget{badArgs: "n3"}}.Command(targets.NodeArgs{ID: "n3"})
	assert.EqualError(t, err, "node n3: its arguments: no such field")
	_, _, err = Spec{Target: renderTarget{badEnv: "n1"}}.Command(targets.NodeArgs{ID: "n1"})
	assert.EqualError(t, err, "node n1: its environment: bad template")
}
