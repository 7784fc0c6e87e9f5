package driver

import (
	"encoding/json"

	"github.com/skeptic-dev/skeptic/targets/paxos/core"
)

// MemStorage is the storage of the forget-promises flaw: it keeps nothing at all (the core holds its own state in
// memory), it only counts bytes so that compaction still bounds the core's memory.
//
// FLAW(forget-promises): promises and accepts are "persisted" to nothing, so a restarted node comes back empty
// and may promise or accept against what it promised or accepted before the crash. The driver counts and logs
// each such record (Stats.DriverActs).
type MemStorage struct {
	size int64
}

var _ Storage = (*MemStorage)(nil)

// Append counts recs' encoded size and forgets them.
func (m *MemStorage) Append(recs ...core.Record) error {
	for i := range recs {
		b, _ := json.Marshal(&recs[i])
		m.size += int64(len(b) + 8)
	}
	return nil
}

// Sync does nothing: there is nothing to make durable.
func (m *MemStorage) Sync() error { return nil }

// Size is the bytes appended since the last Rewrite, as if they had been written.
func (m *MemStorage) Size() int64 { return m.size }

// Rewrite restarts the count from recs.
func (m *MemStorage) Rewrite(recs []core.Record) error {
	m.size = 0
	return m.Append(recs...)
}

// Close does nothing.
func (m *MemStorage) Close() error { return nil }

func kindName(k core.RecordKind) string {
	switch k {
	case core.RecPromise:
		return "promise"
	case core.RecAccept:
		return "accept"
	case core.RecChosen:
		return "chosen"
	case core.RecSnapshot:
		return "snapshot"
	}
	return "unknown"
}
