package harness

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/harness/cluster"
	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/nemesis"
	"github.com/skeptic-dev/skeptic/targets"
)

type finalCluster struct{ nodes []targets.Node }

func (c finalCluster) Nodes() []targets.Node              { return c.nodes }
func (c finalCluster) Proc() nemesis.Proc                 { return nil }
func (c finalCluster) Net() nemesis.Net                   { return nil }
func (c finalCluster) Teardown(ctx context.Context) error { return nil }

var _ cluster.Cluster = finalCluster{}

// slowTarget's clients answer every read with null after a while; the client of node "bad" cannot be made.
type slowTarget struct {
	calls, closed atomic.Int32
}

func (t *slowTarget) Name() string                            { return "slow" }
func (t *slowTarget) Capabilities() []targets.Capability      { return nil }
func (t *slowTarget) Args(targets.NodeArgs) ([]string, error) { return nil, nil }
func (t *slowTarget) Env(targets.NodeArgs) ([]string, error)  { return nil, nil }
func (t *slowTarget) NewClient(n targets.Node) (targets.Client, error) {
	if n.ID == "bad" {
		time.Sleep(50 * time.Millisecond) // the good node's reader, if started, is under way by now
		return nil, errors.New("no client")
	}
	return slowClient{t}, nil
}

type slowClient struct{ t *slowTarget }

func (c slowClient) Do(ctx context.Context, op targets.Op) targets.Outcome {
	c.t.calls.Add(1)
	time.Sleep(30 * time.Millisecond)
	return targets.Outcome{Type: history.Ok}
}
func (c slowClient) Close() error { c.t.closed.Add(1); return nil }

// TestFinalReadClientErrorLeavesNoReader: when a node's client cannot be made, finalRead fails before any read
// starts, so nothing is recorded into the history after it returned (the run closes the history next).
func TestFinalReadClientErrorLeavesNoReader(t *testing.T) {
	rec, err := history.Create(filepath.Join(t.TempDir(), HistoryFile), time.Now())
	require.NoError(t, err)
	defer rec.Close()
	var recorded atomic.Int32
	rec.OnRecord(func(history.Event) { recorded.Add(1) })
	tg := &slowTarget{}
	r := &run{
		t:      Test{OpTimeout: Duration(time.Second), FinalReadTimeout: Duration(5 * time.Second)},
		con:    newConsole(io.Discard),
		keys:   map[string]struct{}{"k1": {}, "k2": {}, "k3": {}, "k4": {}, "k5": {}},
		clu:    finalCluster{nodes: []targets.Node{{ID: "n1"}, {ID: "bad"}}},
		target: tg,
		rec:    rec,
	}
	require.Error(t, r.finalRead(context.Background()), "finalRead fails without a client for node bad")
	atReturn := recorded.Load()
	time.Sleep(300 * time.Millisecond)
	n := recorded.Load()
	assert.Zero(t, atReturn, "events recorded by the time finalRead returned")
	assert.Zero(t, n, "events recorded after finalRead returned: a reader outlived it")
	assert.Zero(t, tg.calls.Load(), "reads sent")
	assert.Equal(t, int32(1), tg.closed.Load(), "clients closed: the one made")
}
