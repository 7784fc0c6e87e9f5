package node

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/targets/paxos/core"
	"github.com/skeptic-dev/skeptic/targets/paxos/driver"
)

// tickCounter is a core that only counts its ticks.
type tickCounter struct {
	driver.Protocol
	ticks int
}

func (c *tickCounter) Tick(int64) { c.ticks++ }

// TestStallSkipsNoMoreThanALease: after the event loop stalled (a paused node), the core must be told that at
// least ElectionTicks passed. Fewer, and a leader whose lease (up to ElectionTicks-1 ticks) was taken just
// before the stall would find it still holding afterwards, although its followers, which refuse other leaders
// for ElectionTicks only, may have elected another leader and taken writes during the stall: a stale lease read.
func TestStallSkipsNoMoreThanALease(t *testing.T) {
	for _, cfg := range []Config{
		{Tick: time.Millisecond, ElectionTicks: 30, LeaseTicks: 29},
		{Tick: time.Millisecond, ElectionTicks: 100, LeaseTicks: 90},
		{Tick: time.Millisecond, ElectionTicks: 10, LeaseTicks: 9},
	} {
		counter := &tickCounter{}
		d, err := driver.New(driver.Config{ID: "n1", Send: func(core.Message) {}}, counter, &driver.MemStorage{})
		require.NoError(t, err)
		n := &Node{cfg: cfg, clock: NewClock(), d: d}
		time.Sleep(time.Duration(3*cfg.ElectionTicks)*cfg.Tick + 20*time.Millisecond) // the stall
		n.tick()
		assert.GreaterOrEqual(t, counter.ticks, cfg.ElectionTicks, "election %d, lease %d ticks: a stall of %d ticks reached the core as fewer ticks",
			cfg.ElectionTicks, cfg.LeaseTicks, 3*cfg.ElectionTicks)
		assert.LessOrEqual(t, counter.ticks, max(20, cfg.ElectionTicks), "election %d ticks: ticks fired at once after a stall", cfg.ElectionTicks)
	}
}
