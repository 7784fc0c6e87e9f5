package harness

import (
	"context"
	"sync"
	"time"

	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/targets"
)

// finalReadAttempts bounds the attempts to read one key from one node.
const finalReadAttempts = 50

// finalRead heals every fault, waits --recovery, and then reads every key that was operated on from every node,
// retrying each read until it succeeds, its attempts run out, or --final-read-timeout passes. The reads are
// ordinary read operations in the history, by fresh processes (one per node, retired after an info like any
// other), so the checker sees what each node holds once the cluster has had time to converge.
func (r *run) finalRead(ctx context.Context) error {
	t := r.t
	r.healAll(ctx)
	if t.Recovery > 0 {
		r.con.printf("recovery: waiting %s\n", t.Recovery.D())
		select {
		case <-time.After(t.Recovery.D()):
		case <-ctx.Done():
			return nil
		}
	}
	keys := r.sortedKeys()
	nodes := r.clu.Nodes()
	if len(keys) == 0 {
		r.con.printf("final read: no keys were operated on\n")
		return nil
	}
	r.con.printf("final read: %d keys from %d nodes (up to %s)\n", len(keys), len(nodes), t.FinalReadTimeout.D())
	fctx, cancel := context.WithTimeout(ctx, t.FinalReadTimeout.D())
	defer cancel()
	base := r.maxProcess + 1
	// Every client first: a node whose client cannot be made fails the step before any read starts, so no
	// reader is left recording into the history after finalRead has returned.
	clients := make([]targets.Client, len(nodes))
	for i, n := range nodes {
		cl, err := r.target.NewClient(n)
		if err != nil {
			for _, c := range clients[:i] {
				c.Close()
			}
			return setupErr("client for node "+n.ID, err)
		}
		clients[i] = cl
	}
	var wg sync.WaitGroup
	unread := make([]int, len(nodes))
	errs := make([]error, len(nodes))
	for i, n := range nodes {
		cl := clients[i]
		w := &worker{index: base + i, concurrency: len(nodes), node: n, client: cl, rec: r.rec,
			opTimeout: t.OpTimeout.D(), process: base + i}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cl.Close()
			unread[i], errs[i] = w.readAll(fctx, keys)
		}()
	}
	wg.Wait()
	total := 0
	for i, n := range nodes {
		if errs[i] != nil {
			return setupErr("final read", errs[i])
		}
		if unread[i] > 0 {
			r.con.printf("final read: %d of %d keys could not be read from %s before the deadline\n", unread[i], len(keys), n.ID)
		}
		total += unread[i]
	}
	if total == 0 {
		r.con.printf("final read: every key read from every node\n")
	}
	return nil
}

// readAll reads each key until one read succeeds, backing off between attempts, and returns how many keys it
// could not read. Only a recording failure is an error.
func (w *worker) readAll(ctx context.Context, keys []string) (unread int, err error) {
	for ki, k := range keys {
		backoff := 50 * time.Millisecond
		done := false
		for attempt := 0; attempt < finalReadAttempts && !done; attempt++ {
			if ctx.Err() != nil {
				return unread + len(keys) - ki, nil
			}
			out, err := w.do(ctx, targets.Op{F: targets.FRead, Key: k})
			if err != nil {
				return 0, err
			}
			if out.Type == history.Ok {
				done = true
				break
			}
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
			}
			backoff = min(2*backoff, time.Second)
		}
		if !done {
			unread++
		}
	}
	return unread, nil
}
