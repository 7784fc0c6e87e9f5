package nemesis_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/nemesis"
)

// blockingKill blocks in Kill until released, to show that Down answers while an op runs.
type blockingKill struct {
	*fakes
	in, release chan struct{}
	once        *sync.Once
}

func (b blockingKill) Kill(ctx context.Context, n string) error {
	b.once.Do(func() { close(b.in) })
	<-b.release
	return b.fakes.Kill(ctx, n)
}

func TestDownCountsKilledNodesAndAnswersDuringAnOp(t *testing.T) {
	f := newFakes()
	b := blockingKill{f, make(chan struct{}), make(chan struct{}), &sync.Once{}}
	env := f.env()
	env.Proc = b
	n := nemesis.New(env)
	done := make(chan error, 1)
	go func() {
		done <- n.Run(context.Background(), nemesis.Schedule{{F: nemesis.FKill, Value: json.RawMessage(`{"nodes":["n1","n3"]}`)}})
	}()
	<-b.in
	assert.Equal(t, map[string]bool{"n1": true}, n.Down(), "a node being killed is down already")
	close(b.release)
	require.NoError(t, <-done)
	assert.Equal(t, map[string]bool{"n1": true, "n3": true}, n.Down())
	require.NoError(t, n.Run(context.Background(), nemesis.Schedule{{F: nemesis.FStart, Value: json.RawMessage(`{"nodes":["n3"]}`)}}))
	assert.Equal(t, map[string]bool{"n1": true}, n.Down())
	require.NoError(t, n.HealAll(context.Background()))
	assert.Empty(t, n.Down())
}

// TestKillStrategiesCountNodes: majority kills exactly n/2+1 nodes, all every node.
func TestKillStrategiesCountNodes(t *testing.T) {
	for _, nodes := range [][]string{{"n1", "n2", "n3"}, {"n1", "n2", "n3", "n4", "n5"}} {
		for strategy, want := range map[string]int{nemesis.NodesMajority: len(nodes)/2 + 1, nemesis.NodesAll: len(nodes)} {
			for seed := range int64(20) {
				s, err := nemesis.Generate(seed, nodes, 2*time.Minute,
					nemesis.Options{Faults: []string{nemesis.FaultKill}, Kill: []string{strategy}, Interval: nemesis.Duration(5 * time.Second)})
				require.NoError(t, err)
				kills := 0
				for _, op := range s {
					if op.F != nemesis.FKill {
						continue
					}
					kills++
					var v nemesis.NodesValue
					require.NoError(t, json.Unmarshal(op.Value, &v))
					assert.Len(t, v.Nodes, want, "--kill %s on %d nodes, seed %d", strategy, len(nodes), seed)
				}
				require.Positive(t, kills)
			}
		}
	}
}

// TestScheduleFromConfigJSON: --nemesis-schedule takes a run's config.json, and its errors name config.json's
// lines; an object with no schedule says where the list is expected.
func TestScheduleFromConfigJSON(t *testing.T) {
	nodes := []string{"n1", "n2", "n3"}
	cfg := `{
  "name": "paxos-kv",
  "nemesis": {
    "faults": ["partition"],
    "schedule": [
      {"at": "1s", "f": "start-partition", "value": {"strategy": "one", "grudge": {"n1": ["n2", "n3"], "n2": ["n1"], "n3": ["n1"]}}},
      {"at": "3s", "f": "stop-partition"}
    ]
  }
}`
	s, err := nemesis.ParseSchedule([]byte(cfg), nodes)
	require.NoError(t, err)
	require.Len(t, s, 2)
	assert.Equal(t, nemesis.FStartPartition, s[0].F)

	bad := strings.Replace(cfg, `"n9"`, `"n9"`, 1)
	bad = strings.Replace(bad, `{"at": "3s", "f": "stop-partition"}`, `{"at": "3s", "f": "stop-partitio"}`, 1)
	_, err = nemesis.ParseSchedule([]byte(bad), nodes)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "line 7:")

	_, err = nemesis.ParseSchedule([]byte(`{"name": "x", "nemesis": {"faults": []}}`), nodes)
	require.Error(t, err)
	assert.Contains(t, err.Error(), ".nemesis.schedule")
	_, err = nemesis.ParseSchedule([]byte(`"x"`), nodes)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "config.json")
}
