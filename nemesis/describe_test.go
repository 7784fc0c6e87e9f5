package nemesis

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestGrudgeText(t *testing.T) {
	nodes := []string{"n1", "n2", "n3", "n4", "n5"}
	assert.Equal(t, "n2 | n1 n3 n4 n5", GrudgeText(Isolate(nodes, "n2")))
	assert.Equal(t, "n1 n2 | n3 n4 n5", GrudgeText(Complete([]string{"n1", "n2"}, []string{"n3", "n4", "n5"})))
	assert.Equal(t, "n1 n2 | n4 n5", GrudgeText(Complete([]string{"n1", "n2"}, []string{"n4", "n5"})))
	assert.Equal(t, "n1 drops n2 n3 n4 n5", GrudgeText(OneWay(nodes, "n1")))
}

func TestDescribe(t *testing.T) {
	v, _ := json.Marshal(PartitionValue{Strategy: PartLeader, Leader: "n2", Grudge: Isolate([]string{"n1", "n2", "n3"}, "n2")})
	assert.Equal(t, "partition (leader, leader n2): n2 | n1 n3", Describe(FStartPartition, v))
	v, _ = json.Marshal(NodesValue{Strategy: NodesMajority, Nodes: []string{"n1", "n3", "n4"}})
	assert.Equal(t, "kill (majority): n1 n3 n4", Describe(FKill, v))
	assert.Equal(t, "restart: every node the nemesis killed", Describe(FStart, json.RawMessage(`null`)))
	v, _ = json.Marshal(LinksValue{Links: []Link{{From: "n1", To: "n2"}}, Percent: 30})
	assert.Equal(t, "loss 30% on n1→n2", Describe(FStartLoss, v))
	assert.Equal(t, "partition healed", Describe(FStopPartition, nil))
	assert.Equal(t, "kill", Kind(FStart))
	assert.True(t, Begins(FKill))
	assert.False(t, Begins(FStart))
	// A value it cannot read is shown as it is.
	assert.Equal(t, `start-loss {"links":3}`, Describe(FStartLoss, json.RawMessage(`{"links":3}`)))
}
