package node

import (
	"encoding/json"

	"github.com/skeptic-dev/skeptic/targets/paxos/core"
	"github.com/skeptic-dev/skeptic/targets/paxos/wal"
)

// storage is where the event loop makes Ready.Records durable. Durability order: Append then Sync, and only after
// Sync returns nil may the loop send the Ready's messages or answer anything that depends on them.
type storage interface {
	Append(recs ...core.Record) error
	Sync() error
	Size() int64
	Rewrite(recs []core.Record) error
	Close() error
}

var _ storage = (*wal.Log)(nil)

// memStorage is the storage of the forget-promises flaw: it keeps nothing at all (the core holds its own state in
// memory), it only counts bytes so that compaction still bounds the core's memory.
//
// FLAW(forget-promises): promises and accepts are "persisted" to nothing, so a restarted node comes back empty
// and may promise or accept against what it promised or accepted before the crash.
type memStorage struct {
	size  int64
	flawf func(string, ...any)
}

func (m *memStorage) Append(recs ...core.Record) error {
	for i := range recs {
		b, _ := json.Marshal(&recs[i])
		m.size += int64(len(b) + 8)
		if recs[i].Kind == core.RecPromise || recs[i].Kind == core.RecAccept {
			m.flawf("forget-promises: %s record for ballot %s kept only in memory", kindName(recs[i].Kind), recs[i].Ballot)
		}
	}
	return nil
}
func (m *memStorage) Sync() error { return nil }
func (m *memStorage) Size() int64 { return m.size }
func (m *memStorage) Rewrite(recs []core.Record) error {
	m.size = 0
	return m.Append(recs...)
}
func (m *memStorage) Close() error { return nil }

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
