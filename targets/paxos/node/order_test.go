package node

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/targets/paxos/core"
)

// orderLog records, per node, what reached the disk (after Sync) and what was sent, in the order it happened.
type orderLog struct {
	mu       sync.Mutex
	promised map[string]core.Ballot     // highest durable promise per node
	accepted map[string]map[string]bool // durable "slot/ballot" accepts per node
	pending  map[string][]core.Record   // appended, not yet synced
	bad      []string
	checked  int
}

type recordingStorage struct {
	storage
	id string
	o  *orderLog
}

func (r *recordingStorage) Append(recs ...core.Record) error {
	r.o.mu.Lock()
	r.o.pending[r.id] = append(r.o.pending[r.id], recs...)
	r.o.mu.Unlock()
	return r.storage.Append(recs...)
}

func (r *recordingStorage) Sync() error {
	if err := r.storage.Sync(); err != nil {
		return err
	}
	r.o.mu.Lock()
	defer r.o.mu.Unlock()
	for _, rec := range r.o.pending[r.id] {
		switch rec.Kind {
		case core.RecPromise:
			if r.o.promised[r.id].Less(rec.Ballot) {
				r.o.promised[r.id] = rec.Ballot
			}
		case core.RecAccept:
			r.o.accepted[r.id][fmt.Sprintf("%d/%s", rec.Slot, rec.Ballot)] = true
		}
	}
	r.o.pending[r.id] = nil
	return nil
}

func (o *orderLog) sent(m core.Message) {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch m.Type {
	case core.MsgPromise:
		o.checked++
		if o.promised[m.From].Less(m.Ballot) {
			o.bad = append(o.bad, fmt.Sprintf("%s sent a promise for %s with only %s durable", m.From, m.Ballot, o.promised[m.From]))
		}
	case core.MsgAccepted:
		o.checked++
		if !o.accepted[m.From][fmt.Sprintf("%d/%s", m.Slot, m.Ballot)] {
			o.bad = append(o.bad, fmt.Sprintf("%s sent accepted for slot %d at %s before its accept was durable", m.From, m.Slot, m.Ballot))
		}
	}
}

// TestPersistBeforeSend wraps each node's real log and checks, for every promise and every accepted message a
// node sends, that the record behind it was fsynced first, across elections and a leader restart.
func TestPersistBeforeSend(t *testing.T) {
	o := &orderLog{promised: map[string]core.Ballot{}, accepted: map[string]map[string]bool{}, pending: map[string][]core.Record{}}
	c := newCluster(t, 3, func(cfg *Config) {
		id := cfg.ID
		o.accepted[id] = map[string]bool{}
		cfg.wrapStorage = func(s storage) storage { return &recordingStorage{storage: s, id: id, o: o} }
		cfg.onSend = o.sent
	})
	lead := c.leader(10 * time.Second)
	for i := 0; i < 20; i++ {
		mustOK(t, "PUT", c.url((lead+i)%3)+"/kv/o", fmt.Sprintf(`{"value":%d}`, i))
	}
	c.stop(lead) // force an election: new promises
	c.start(lead)
	lead = c.leader(10 * time.Second)
	for i := 0; i < 20; i++ {
		mustOK(t, "PUT", c.url((lead+i)%3)+"/kv/o", fmt.Sprintf(`{"value":%d}`, i))
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	require.Empty(t, o.bad, "messages sent before their records were durable")
	require.GreaterOrEqual(t, o.checked, 20, "promise/accepted messages observed; fewer and the check saw too little to mean anything")
}
