package driver

import (
	"math/rand"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/targets/paxos/core"
	"github.com/skeptic-dev/skeptic/targets/paxos/kv"
	"github.com/skeptic-dev/skeptic/targets/paxos/wal"
)

// harness is one driver over the real log in a temporary directory, with its sent messages and replies recorded.
type harness struct {
	t       *testing.T
	dir     string
	d       *Driver
	log     *wal.Log
	sent    []core.Message
	crashAt CrashPoint
}

func newHarness(t *testing.T, peers []core.NodeID, dir string, tweak func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, dir: dir}
	l, recs, _, err := wal.Open(dir)
	require.NoError(t, err)
	h.log = l
	c, err := core.New(core.Config{ID: "n1", Peers: peers, HeartbeatTicks: 2, ElectionTicks: 10,
		Rand: rand.New(rand.NewSource(1))}, recs)
	require.NoError(t, err)
	cfg := Config{ID: "n1", Read: core.ReadIndex, Flaw: core.FlawNone, Nonce: "x", CompactBytes: 1 << 20,
		Send: func(m core.Message) { h.sent = append(h.sent, m) },
		Crash: func(p CrashPoint, rd *core.Ready) bool {
			return p == h.crashAt && (len(rd.Records) > 0 || len(rd.Messages) > 0)
		}}
	if tweak != nil {
		tweak(&cfg)
	}
	h.d, err = New(cfg, c, l)
	require.NoError(t, err)
	require.NoError(t, h.d.Flush())
	t.Cleanup(func() { l.Close() })
	return h
}

// lead ticks a one-node cluster until it leads.
func (h *harness) lead() {
	for range 30 {
		h.d.Tick(0)
		require.NoError(h.t, h.d.Flush())
	}
	require.Equal(h.t, "n1", h.d.Core().Status().Leader)
}

func (h *harness) do(op kv.Op, seq uint64) (Reply, bool) {
	var got Reply
	answered := false
	h.d.Handle(&Request{Op: op, ID: core.CommandID{Client: "c", Seq: seq}, HasID: true, Deadline: time.Hour,
		Reply: func(r Reply) {
			require.False(h.t, answered, "answered twice")
			got, answered = r, true
		}})
	require.NoError(h.t, h.d.Flush())
	return got, answered
}

func TestDriverWritesReadsCas(t *testing.T) {
	h := newHarness(t, []core.NodeID{"n1"}, t.TempDir(), nil)
	h.lead()
	r, ok := h.do(kv.Op{F: kv.FWrite, Key: "x", Value: 7}, 1)
	require.True(t, ok)
	require.Equal(t, Done, r.Kind)
	r, _ = h.do(kv.Op{F: kv.FRead, Key: "x"}, 2)
	require.Equal(t, Done, r.Kind)
	require.True(t, r.Res.Found)
	require.EqualValues(t, 7, *r.Res.Value)
	r, _ = h.do(kv.Op{F: kv.FCas, Key: "x", From: 1, To: 2}, 3)
	require.Equal(t, Done, r.Kind)
	require.True(t, r.Res.Mismatch)
	require.EqualValues(t, 7, *r.Res.Value)
	require.Equal(t, uint64(0), uint64(h.d.Stats().Pending))

	// A restart from the same directory rebuilds the store from the log.
	h.log.Close()
	h2 := newHarness(t, []core.NodeID{"n1"}, h.dir, nil)
	v, found := h2.d.Store().Get("x")
	require.True(t, found)
	require.EqualValues(t, 7, v)
}

func TestDriverNotLeaderAndSweep(t *testing.T) {
	h := newHarness(t, []core.NodeID{"n1", "n2", "n3"}, t.TempDir(), nil)
	r, ok := h.do(kv.Op{F: kv.FWrite, Key: "x", Value: 1}, 1)
	require.True(t, ok)
	require.Equal(t, NotLeader, r.Kind, "a follower proposes nothing")
	r, _ = h.do(kv.Op{F: kv.FRead, Key: "x"}, 2)
	require.Equal(t, NotLeader, r.Kind)

	// A leader without a majority: the write is proposed, so when its deadline passes its outcome is unknown.
	h = newHarness(t, []core.NodeID{"n1", "n2", "n3"}, t.TempDir(), nil)
	for range 30 {
		h.d.Tick(0)
		require.NoError(t, h.d.Flush())
	}
	var prom []core.Message
	for _, m := range h.sent {
		if m.Type == core.MsgPrepare {
			prom = append(prom, core.Message{Type: core.MsgPromise, From: m.To, To: "n1", Ballot: m.Ballot, Slot: m.Slot})
		}
	}
	require.NotEmpty(t, prom)
	for _, m := range prom {
		_ = h.d.Step(m)
	}
	require.NoError(t, h.d.Flush())
	require.Equal(t, "n1", h.d.Core().Status().Leader)
	var got []Reply
	h.d.Handle(&Request{Op: kv.Op{F: kv.FWrite, Key: "x", Value: 2}, HasID: false, Deadline: time.Second,
		Reply: func(r Reply) { got = append(got, r) }})
	require.NoError(t, h.d.Flush())
	require.Empty(t, got)
	require.Equal(t, 1, h.d.Stats().Pending)
	h.d.Sweep(2 * time.Second)
	require.Len(t, got, 1)
	require.Equal(t, Unknown, got[0].Kind)
	require.Equal(t, http.StatusGatewayTimeout, got[0].Status)
	require.Zero(t, h.d.Stats().Pending)
}

// TestDriverCrashAfterSync: a crash between persisting a Ready and sending it leaves the records durable and no
// message sent; the driver refuses further work.
func TestDriverCrashAfterSync(t *testing.T) {
	h := newHarness(t, []core.NodeID{"n1", "n2", "n3"}, t.TempDir(), nil)
	h.crashAt = CrashAfterSync
	var err error
	for range 30 {
		h.d.Tick(0)
		if err = h.d.Flush(); err != nil {
			break
		}
	}
	require.ErrorIs(t, err, ErrCrashed)
	require.Empty(t, h.sent, "nothing leaves after the crash point")
	require.ErrorIs(t, h.d.Flush(), ErrCrashed)
	h.log.Close()
	_, recs, _, err := wal.Open(h.dir)
	require.NoError(t, err)
	require.NotEmpty(t, recs, "the records of the crashed Ready were fsynced")
	require.Equal(t, core.RecPromise, recs[len(recs)-1].Kind)
}

// TestDriverStaleReadsFlaw: with the flaw a follower answers a read from its own copy; without it, it does not.
func TestDriverStaleReadsFlaw(t *testing.T) {
	h := newHarness(t, []core.NodeID{"n1", "n2", "n3"}, t.TempDir(), func(c *Config) { c.Flaw = core.FlawStaleReads })
	r, _ := h.do(kv.Op{F: kv.FRead, Key: "x"}, 1)
	require.Equal(t, Done, r.Kind)
	require.False(t, r.Res.Found)
	require.EqualValues(t, 1, h.d.Stats().DriverActs)
}
