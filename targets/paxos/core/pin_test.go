package core

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/targets/paxos/internal/mutation"
)

// These tests pin the timing rules of reads that the simulation rarely reaches: each fails under the mutation
// that breaks its rule (TestTimingRulesCatchMutations shows it), so such a bug fails a named test, not only a
// random seed.

// leaseLeftAfterLateAcks: a 3-node lease-mode cluster (lease 8 ticks, drift margin 0.25: 6 ticks from the
// heartbeat) whose leader sends a heartbeat, then gets the followers' acknowledgements 4 ticks later. It returns
// the lease the leader then believes it has, in ticks.
func leaseLeftAfterLateAcks(t *testing.T) int {
	c := newCluster(t, 3, func(cfg *Config) { cfg.ReadMode, cfg.LeaseTicks, cfg.DriftMargin = ReadLease, 8, 0.25 })
	c.campaign("n1")
	n1 := c.nodes["n1"]
	var hbs []Message
	for range 10 {
		n1.Tick(0)
		rd := n1.Ready()
		n1.Advance()
		for _, m := range rd.Messages {
			if m.Type == MsgHeartbeat {
				hbs = append(hbs, m)
			}
		}
		if len(hbs) > 0 {
			break
		}
	}
	require.NotEmpty(t, hbs, "the leader sent no heartbeat")
	var acks []Message
	for _, m := range hbs {
		f := c.nodes[m.To]
		require.NoError(t, f.Step(m))
		rd := f.Ready()
		f.Advance()
		for _, r := range rd.Messages {
			if r.Type == MsgHeartbeatResp {
				acks = append(acks, r)
			}
		}
	}
	require.Len(t, acks, 2)
	for range 4 {
		n1.Tick(0)
	}
	for _, r := range acks {
		require.NoError(t, n1.Step(r))
	}
	return n1.Status().LeaseLeft
}

// TestLeaseTimedFromHeartbeatSend: the lease runs from when the heartbeat was sent (when the followers' promise
// refusal started at the earliest), not from when their acknowledgements arrived: 6 - 4 = 2 ticks are left.
func TestLeaseTimedFromHeartbeatSend(t *testing.T) {
	require.Equal(t, 2, leaseLeftAfterLateAcks(t))
}

// readAnsweredOnOldRound: a 3-node index-mode cluster whose leader's latest heartbeat round has its majority; a
// read arrives. It reports whether the read was confirmed at once (without a new round) and whether the leader
// sent a new heartbeat round for it.
func readAnsweredOnOldRound(t *testing.T) (answered, newRound bool) {
	c := newCluster(t, 3, nil)
	c.campaign("n1")
	c.tick(2) // a heartbeat round goes out and every follower acknowledges it
	n1 := c.nodes["n1"]
	require.False(t, n1.HasReady())
	require.NoError(t, n1.ReadIndex(5))
	rd := n1.Ready()
	n1.Advance()
	for _, m := range rd.Messages {
		newRound = newRound || m.Type == MsgHeartbeat
	}
	return len(rd.ReadStates) > 0, newRound
}

// TestReadNeedsRoundSentAfterIt: a read-index read is confirmed only by a heartbeat round sent after it arrived
// (a round sent before could have been acknowledged by followers that have since elected another leader).
func TestReadNeedsRoundSentAfterIt(t *testing.T) {
	answered, newRound := readAnsweredOnOldRound(t)
	require.False(t, answered, "read confirmed by a round sent before it arrived")
	require.True(t, newRound, "no heartbeat round was started for the read")
}

// TestTimingRulesCatchMutations: the two tests above fail under the mutations that break their rules, so they
// are not tests that cannot fail.
func TestTimingRulesCatchMutations(t *testing.T) {
	restore, err := mutation.Set(string(mutation.LeaseFromAck))
	require.NoError(t, err)
	require.Equal(t, 6, leaseLeftAfterLateAcks(t), "lease-from-ack: the lease runs 6 ticks from the late acks")
	restore()
	restore, err = mutation.Set(string(mutation.LongLease))
	require.NoError(t, err)
	require.Greater(t, leaseLeftAfterLateAcks(t), 2, "long-lease: the lease outlasts the followers' refusal")
	restore()
	restore, err = mutation.Set(string(mutation.StaleRound))
	require.NoError(t, err)
	answered, newRound := readAnsweredOnOldRound(t)
	restore()
	require.True(t, answered, "stale-round: the read is confirmed by the round sent before it")
	require.False(t, newRound)
}
