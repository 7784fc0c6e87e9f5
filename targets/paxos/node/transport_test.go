package node

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/targets/paxos/core"
)

func recvOne(t *testing.T, ch <-chan core.Message, timeout time.Duration) (core.Message, bool) {
	t.Helper()
	select {
	case m := <-ch:
		return m, true
	case <-time.After(timeout):
		return core.Message{}, false
	}
}

// TestTransportReconnects: a sends to b over a's own outbound connection; b restarts on the same address and a
// redials it by itself. Each direction is its own connection: b never sends on a's connection.
func TestTransportReconnects(t *testing.T) {
	addrs := freeAddrs(t, 2)
	peers := map[string]string{"a": addrs[0], "b": addrs[1]}
	inA, inB := make(chan core.Message, 16), make(chan core.Message, 16)
	a, err := newTransport("a", addrs[0], peers, inA, t.Logf)
	require.NoError(t, err)
	defer a.close()
	b, err := newTransport("b", addrs[1], peers, inB, t.Logf)
	require.NoError(t, err)
	msg := core.Message{Type: core.MsgHeartbeat, From: "a", To: "b", Ballot: core.Ballot{Round: 3, Node: "a"}, Commit: 9}
	a.send(msg)
	got, ok := recvOne(t, inB, 3*time.Second)
	require.True(t, ok, "b received nothing")
	require.Equal(t, msg.Ballot, got.Ballot, "b received %+v", got)
	require.Equal(t, uint64(9), got.Commit, "b received %+v", got)
	require.Equal(t, "a", got.From, "b received %+v", got)
	_, ok = recvOne(t, inA, 100*time.Millisecond)
	require.False(t, ok, "a received something though nobody sent to it")
	b.close()
	b, err = newTransport("b", addrs[1], peers, inB, t.Logf)
	require.NoError(t, err)
	defer b.close()
	// The first sends after the restart may go into the dead connection; keep sending until one arrives.
	deadline := time.Now().Add(5 * time.Second)
	for {
		a.send(msg)
		if _, ok := recvOne(t, inB, 100*time.Millisecond); ok {
			break
		}
		require.False(t, time.Now().After(deadline), "a never reached the restarted b")
	}
	// b answers over its own outbound connection to a.
	b.send(core.Message{Type: core.MsgHeartbeatResp, From: "b", To: "a"})
	m, ok := recvOne(t, inA, 3*time.Second)
	require.True(t, ok, "a did not hear b")
	require.Equal(t, "b", m.From, "a did not hear b: %+v", m)
}

// TestTransportDropsWhenFull: sending to a peer that is down never blocks; past the queue's bound messages are
// dropped and counted.
func TestTransportDropsWhenFull(t *testing.T) {
	addrs := freeAddrs(t, 2)
	a, err := newTransport("a", addrs[0], map[string]string{"a": addrs[0], "b": addrs[1]}, make(chan core.Message, 1), t.Logf)
	require.NoError(t, err)
	defer a.close()
	start := time.Now()
	for i := 0; i < 3*sendQueueLen; i++ {
		a.send(core.Message{Type: core.MsgHeartbeat, From: "a", To: "b"})
	}
	require.LessOrEqual(t, time.Since(start), time.Second, "sending to a dead peer took too long")
	require.NotZero(t, a.dropped.Load(), "nothing dropped after 3x the queue bound to a dead peer")
	require.False(t, a.send(core.Message{Type: core.MsgHeartbeat, From: "a", To: "nobody"}), "send to an unknown peer reported success")
}
