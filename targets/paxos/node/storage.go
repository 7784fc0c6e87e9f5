package node

import (
	"github.com/skeptic-dev/skeptic/targets/paxos/driver"
	"github.com/skeptic-dev/skeptic/targets/paxos/wal"
)

// storage is where the driver makes Ready.Records durable (driver.Storage): the real log, or, with the
// forget-promises flaw, driver.MemStorage.
type storage = driver.Storage

var _ storage = (*wal.Log)(nil)
