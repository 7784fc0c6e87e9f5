// Package histgen generates large, valid kv histories for benchmarks: the events a harness would record from a
// linearizable register store under real concurrency.
//
// It simulates, in virtual time, groups of workers that share a key at once (the kv workload's groups): each
// operation has an invocation time and a completion time, overlapping those of the other workers of its group,
// and takes effect at one instant inside that interval (its linearization point). Outcomes are computed by
// applying the operations of each key in the order of their linearization points, so every generated history is
// linearizable. A fraction of operations ends "info" (unknown); such a write or cas takes effect or not by a
// coin flip, and its process is retired, as the harness does.
//
// Histories are a pure function of Config, so a benchmark reruns on identical input.
package histgen

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"

	"github.com/skeptic-dev/skeptic/history"
)

// Config sizes a history. Zero fields take the defaults below.
type Config struct {
	// Ops is the number of operations (each an invocation and a completion event).
	Ops int
	// WorkersPerKey is how many workers share a key at once (default 10).
	WorkersPerKey int
	// OpsPerKey is how many operations a key receives (default 1000).
	OpsPerKey int
	// Groups is how many keys are worked on at once (default 4).
	Groups int
	// InfoRate is the fraction of operations whose outcome is unknown (default 0.01).
	InfoRate float64
	// Seed selects the history.
	Seed uint64
}

func (c Config) withDefaults() Config {
	if c.WorkersPerKey == 0 {
		c.WorkersPerKey = 10
	}
	if c.OpsPerKey == 0 {
		c.OpsPerKey = 1000
	}
	if c.Groups == 0 {
		c.Groups = 4
	}
	if c.InfoRate == 0 {
		c.InfoRate = 0.01
	}
	return c
}

type op struct {
	key       int
	worker    int // global worker index
	process   int
	call, ret int64 // completion event time; for an info, when the client gave up
	lin       int64 // linearization point, inside (call, ret)
	f         string
	info      bool
	applies   bool // for an info write or cas: whether it took effect
	arg       int64
	from, to  int64
	ok        bool  // cas: applied
	seen      int64 // read or cas-mismatch: the value observed
	seenSet   bool
	node      string
}

// Events generates the history's events in index order.
func Events(cfg Config) []history.Event {
	cfg = cfg.withDefaults()
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	workers := cfg.Groups * cfg.WorkersPerKey
	perWorker := (cfg.OpsPerKey + cfg.WorkersPerKey - 1) / cfg.WorkersPerKey
	nodes := []string{"n1", "n2", "n3", "n4", "n5"}

	// Timing first: it does not depend on outcomes.
	clock := make([]int64, workers)
	process := make([]int, workers)
	for w := range workers {
		process[w] = w
		clock[w] = rng.Int64N(20_000)
	}
	ops := make([]op, 0, cfg.Ops)
	var byKey [][]int32
	for len(ops) < cfg.Ops {
		for g := 0; g < cfg.Groups && len(ops) < cfg.Ops; g++ {
			key := len(byKey)
			byKey = append(byKey, nil)
			for i := range cfg.WorkersPerKey {
				w := g*cfg.WorkersPerKey + i
				for range perWorker {
					if len(ops) >= cfg.Ops || len(byKey[key]) >= cfg.OpsPerKey {
						break
					}
					o := op{key: key, worker: w, process: process[w], node: nodes[w%len(nodes)]}
					o.call = clock[w] + 1 + rng.Int64N(30_000)
					dur := 100_000 + rng.Int64N(900_000) // 0.1 to 1 ms
					if rng.IntN(20) == 0 {
						dur += rng.Int64N(10_000_000) // a slow one, up to 10 ms more
					}
					switch r := rng.IntN(4); {
					case r < 2:
						o.f = "read"
					case r == 2:
						o.f = "write"
					default:
						o.f = "cas"
					}
					if rng.Float64() < cfg.InfoRate {
						o.info = true
						o.applies = rng.IntN(2) == 0
						process[w] += workers
						dur = 50_000_000 // the client's timeout
					}
					o.ret = o.call + dur
					o.lin = o.call + 1 + rng.Int64N(dur-1)
					clock[w] = o.ret
					byKey[key] = append(byKey[key], int32(len(ops)))
					ops = append(ops, o)
				}
			}
		}
	}

	// Outcomes: each key's operations in linearization order.
	writes := make([]int64, workers) // writes by each worker on its current key
	for _, idx := range byKey {
		sort.Slice(idx, func(a, b int) bool { return ops[idx[a]].lin < ops[idx[b]].lin })
		var cur int64
		set := false
		lastSeen := map[int]int64{}
		for w := range writes {
			writes[w] = 0
		}
		for _, j := range idx {
			o := &ops[j]
			local := o.worker % cfg.WorkersPerKey
			switch o.f {
			case "read":
				o.seen, o.seenSet = cur, set
				if set {
					lastSeen[o.worker] = cur
				}
			case "write":
				writes[o.worker]++
				o.arg = writes[o.worker]*int64(cfg.WorkersPerKey) + int64(local) + 1
				if !o.info || o.applies {
					cur, set = o.arg, true
				}
			case "cas":
				writes[o.worker]++
				o.to = writes[o.worker]*int64(cfg.WorkersPerKey) + int64(local) + 1
				if v, ok := lastSeen[o.worker]; ok {
					o.from = v
				} else {
					o.from = int64(1 + rng.IntN(cfg.WorkersPerKey))
				}
				if set && cur == o.from && (!o.info || o.applies) {
					o.ok = true
					cur = o.to
				}
				o.seen, o.seenSet = cur, set
				if set {
					lastSeen[o.worker] = cur
				}
			}
		}
	}

	// Events: invocations and completions by time.
	type ev struct {
		t    int64
		op   int32
		done bool
	}
	evs := make([]ev, 0, 2*len(ops))
	for i := range ops {
		evs = append(evs, ev{ops[i].call, int32(i), false}, ev{ops[i].ret, int32(i), true})
	}
	sort.Slice(evs, func(a, b int) bool {
		if evs[a].t != evs[b].t {
			return evs[a].t < evs[b].t
		}
		return evs[a].op < evs[b].op
	})
	keys := make([]string, len(byKey))
	for k := range keys {
		keys[k] = "k" + strconv.Itoa(k)
	}
	out := make([]history.Event, len(evs))
	for i, e := range evs {
		o := &ops[e.op]
		h := history.Event{Index: int64(i), Process: history.Process(o.process), Type: history.Invoke, F: o.f, Key: keys[o.key], Node: o.node}
		switch o.f {
		case "read":
			h.Value = history.Null()
		case "write":
			h.Value = history.Int(o.arg)
		case "cas":
			h.Value = history.Pair(o.from, o.to)
		}
		if !e.done {
			h.Time = o.call
		} else {
			h.Time = o.ret
			switch {
			case o.info:
				h.Type, h.Error = history.Info, "timeout: no answer in 50ms"
			case o.f == "read":
				h.Type = history.Ok
				h.Value = optInt(o.seen, o.seenSet)
			case o.f == "cas" && !o.ok:
				h.Type, h.Error = history.Fail, history.ErrCASMismatch
				h.Value = optInt(o.seen, o.seenSet)
			default:
				h.Type = history.Ok
			}
		}
		out[i] = h
	}
	return out
}

func optInt(v int64, set bool) json.RawMessage {
	if !set {
		return history.Null()
	}
	return history.Int(v)
}

// WriteFile writes events to path as history.jsonl, each line as the Recorder writes it.
func WriteFile(path string, events []history.Event) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for _, e := range events {
		b, err := json.Marshal(e)
		if err != nil {
			f.Close()
			return fmt.Errorf("histgen: event %d: %w", e.Index, err)
		}
		w.Write(b)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
