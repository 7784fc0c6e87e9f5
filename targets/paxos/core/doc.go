// Package core is the Multi-Paxos protocol as a pure state machine, in the manner of go.etcd.io/raft's RawNode.
//
// It has no goroutines, no clock reads, no I/O and no randomness except Config.Rand. A driver feeds it messages
// (Step), logical clock ticks (Tick), client proposals (Propose) and read requests (ReadIndex), then takes the
// resulting work with Ready: records to make durable, messages to send, chosen slots to apply. Ready only reports
// that work and changes nothing (as in go.etcd.io/raft); the driver persists, sends and applies in the order
// Ready's comment gives, then calls Advance, which takes out what that Ready reported and counts its slots as
// applied. targets/paxos/driver is the driver that the node and the simulation share. Because nothing else goes
// in, one seed and one sequence of inputs replay one exact execution.
//
// A driver's loop looks like this:
//
//	n, err := core.New(cfg, recordsFromDisk) // the first Ready re-delivers the snapshot and chosen slots
//	for {
//		select {
//		case <-ticker.C:
//			n.Tick(wallClockNanos())
//		case m := <-fromPeers:
//			_ = n.Step(m) // an error means a malformed message: log it and drop it
//		case req := <-fromClients:
//			err := n.Propose(core.Command{ID: req.ID, Data: kv.Encode(req.Op)}) // or n.ReadIndex(ctx)
//			// ErrNotLeader, ErrTooMuchInflight: nothing was proposed, so the client can be told so definitely.
//		}
//		for n.HasReady() {
//			rd := n.Ready()
//			if rd.Snapshot != nil {
//				store, _ = kv.Restore(rd.Snapshot.Data)
//			}
//			appendAndFsync(rd.Records) // BEFORE any message of this Ready leaves
//			send(rd.Messages)
//			for _, e := range rd.Committed { // slot order; answer the clients waiting on these commands
//				for _, c := range e.Value.Commands {
//					answer(c.ID, store.Apply(c))
//				}
//			}
//			waitForApplied(rd.ReadStates) // answer each read once the store applied its Index
//			n.Advance()
//		}
//		// now and then: n.Compact(applied, store snapshot), then rewrite the log with n.PersistentState()
//	}
//
// Roles. Every node is proposer, acceptor and learner. A proposer whose election timeout passes without news of a
// leader runs phase 1 once for every slot from its first unchosen one, with a ballot above any it has seen. A
// majority of promises makes it leader; it re-proposes, per slot, the highest-ballot value the promises reported
// and fills the remaining holes with no-ops, then runs phase 2 for client commands (batched up to MaxBatch per
// slot, pipelined up to MaxInflight slots). A slot a majority accepted is chosen; the leader announces it with
// MsgCommit and heartbeats carry its commit index, so a replica that lags asks for the slots it lacks
// (MsgCatchupReq), or gets the snapshot when they were compacted. Acceptors refuse lower ballots with MsgNack,
// which names the higher ballot so the proposer steps down and later steps above it. A leader also steps down when
// a message shows that the log went past it: a Commit at a higher ballot, or a chosen slot, a snapshot or a peer's
// commit index at or past its next free slot (only a higher ballot can have chosen that slot), or another value
// chosen in a slot it has in phase 2. It then runs phase 1 again, from past what it learned, if no leader is heard.
//
// Reads. ReadIndex confirms leadership with a fresh heartbeat round acknowledged by a majority. In lease mode
// a leader answers at once while its lease holds: the lease starts when a heartbeat that a majority acknowledged
// was sent and lasts LeaseTicks*(1-DriftMargin) of its own ticks, and every follower that acknowledged it
// refuses promises to other proposers for ElectionTicks (> LeaseTicks) of its own ticks, so no new leader can
// exist while the lease holds as long as clock rates differ by less than the margin.
//
// Flaws. Config.Flaw switches on a deliberate bug; each core flaw is a small deviation marked "FLAW(name)" in
// the code. With a flaw on, a broken invariant is left for the checker to find instead of panicking. The core
// counts each time its flaw actually changes what the node does in Status.FlawActs (Status.LastFlawAct says what
// the latest act did), so a driver can log exactly when a flaw acts.
package core
