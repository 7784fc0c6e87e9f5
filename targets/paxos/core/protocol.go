package core

import (
	"bytes"
	"fmt"
	"math"
)

// This file holds the three Paxos roles: the acceptor (onPrepare, onAccept), the proposer (campaign, onPromise,
// becomeLeader, Propose, onAccepted) and the learner (learn, catch-up, snapshots), plus heartbeats, leases and
// reads. References: "Paxos Made Simple" (Lamport, 2001), sections 2.2 (P1, P2a-c) and 3 (Multi-Paxos), and the
// seed notes (shared/SEED-NOTES.md), whose step numbers the comments cite.

// violation reports a broken protocol invariant. With no flaw switched on it panics: the protocol is wrong.
// With a flaw on the break is the flaw's expected effect; the node keeps the value it had, so a simulation or
// a checker observes the divergence instead of a crash.
func (n *Node) violation(format string, args ...any) {
	if n.cfg.Flaw == FlawNone {
		panic(fmt.Sprintf("core: %s: invariant broken: ", n.cfg.ID) + fmt.Sprintf(format, args...))
	}
}

// flawActed counts one act of the configured flaw (Status.FlawActs) and keeps what it did for Status.LastFlawAct.
func (n *Node) flawActed(format string, args ...any) {
	n.flawActs++
	n.lastFlawAct = fmt.Sprintf(format, args...)
}

// describe names a value for flaw reports: "a no-op", or its command count and first command id.
func describe(v Value) string {
	switch len(v.Commands) {
	case 0:
		return "a no-op"
	case 1:
		return fmt.Sprintf("1 command (%s/%d)", v.Commands[0].ID.Client, v.Commands[0].ID.Seq)
	}
	return fmt.Sprintf("%d commands (first %s/%d)", len(v.Commands), v.Commands[0].ID.Client, v.Commands[0].ID.Seq)
}

func equalValue(a, b Value) bool {
	if len(a.Commands) != len(b.Commands) {
		return false
	}
	for i := range a.Commands {
		if a.Commands[i].ID != b.Commands[i].ID || !bytes.Equal(a.Commands[i].Data, b.Commands[i].Data) {
			return false
		}
	}
	return true
}

// ---- acceptor ----

// leaseGuard reports whether this node must refuse a promise to from because it heard from another leader less
// than ElectionTicks ago (or booted less than ElectionTicks ago).
//
// Why: a leader's lease is only safe if no other proposer can complete phase 1 while it lasts. The lease is
// shorter than ElectionTicks and starts when the leader sent a heartbeat a majority acknowledged; every member
// of that majority refuses promises for ElectionTicks after it heard that heartbeat, and any phase 1 majority
// includes one of them (majorities intersect).
func (n *Node) leaseGuard(from NodeID) bool {
	return from != n.leader && n.now-n.heardTick < int64(n.cfg.ElectionTicks)
}

func (n *Node) onPrepare(m Message) {
	if m.Ballot.Less(n.promised) {
		// Why (Paxos P1a): an acceptor never answers a ballot below its promise. The Nack names the higher ballot
		// so the proposer picks a higher round next time (seed step 5: only the newest ticket is honoured).
		n.send(Message{Type: MsgNack, To: m.From, Ballot: n.promised, Slot: m.Slot})
		return
	}
	if m.Ballot != n.promised && n.leaseGuard(m.From) {
		return
	}
	if n.promised.Less(m.Ballot) {
		n.promised = m.Ballot
		// Durability: the promise record goes out in the same Ready as the Promise message, and the driver
		// fsyncs records BEFORE sending messages, so a crash cannot forget a promise that was sent.
		if activeMutation() != mutUnpersistedPromise { // MUTATION(unpersisted-promise) skips the record
			n.persist(Record{Kind: RecPromise, Ballot: m.Ballot})
		}
	}
	if n.role != follower && n.ballot.Less(m.Ballot) {
		n.stepDown("")
	}
	n.resetElectionTimer()
	n.send(Message{Type: MsgPromise, To: m.From, Ballot: m.Ballot, Slot: m.Slot, Accepted: n.report(m.Slot), Commit: n.commit})
}

// report lists what the acceptor knows about slots >= from that a new proposer must respect: each chosen slot
// above the commit index as RecChosen, and each accepted, unchosen slot above the commit index as RecAccept with
// its ballot. Slots <= commit are chosen; the promise's Commit field tells the proposer so, and it fetches them
// by catch-up instead of re-proposing them.
func (n *Node) report(from uint64) []Record {
	var rs []Record
	lo := max(from, n.commit+1)
	for _, s := range sortedKeys(n.chosen) {
		if s >= lo {
			v := cloneValue(n.chosen[s])
			rs = append(rs, Record{Kind: RecChosen, Slot: s, Value: &v})
		}
	}
	for _, s := range sortedKeys(n.accepts) {
		if _, ok := n.chosen[s]; ok || s < lo {
			continue
		}
		a := n.accepts[s]
		v := cloneValue(a.value)
		rs = append(rs, Record{Kind: RecAccept, Ballot: a.ballot, Slot: s, Value: &v})
	}
	return rs
}

func (n *Node) onAccept(m Message) {
	if m.Ballot.Less(n.promised) {
		// Why (Paxos P1a): accepting below the promise could choose a value the promised proposer never saw.
		n.send(Message{Type: MsgNack, To: m.From, Ballot: n.promised, Slot: m.Slot})
		return
	}
	raised := n.promised.Less(m.Ballot)
	n.promised = m.Ballot
	if n.role != follower && n.ballot.Less(m.Ballot) {
		n.stepDown(m.From)
	}
	n.follow(m.From, m.Ballot)
	if raised && m.Slot <= n.snapSlot() {
		n.persist(Record{Kind: RecPromise, Ballot: m.Ballot})
	}
	if m.Slot > n.snapSlot() {
		// Durability: the accept record (which also raises the promise on replay) is fsynced BEFORE the Accepted
		// message is sent (Ready order), so a slot a majority acknowledged stays accepted across crashes.
		n.accepts[m.Slot] = accepted{ballot: m.Ballot, value: cloneValue(*m.Value)}
		n.persist(Record{Kind: RecAccept, Ballot: m.Ballot, Slot: m.Slot, Value: m.Value})
	}
	// A slot at or below the snapshot is chosen; by Paxos's invariant every later ballot proposes the chosen
	// value there, so acknowledging it without storing it is safe.
	n.send(Message{Type: MsgAccepted, To: m.From, Ballot: m.Ballot, Slot: m.Slot, Commit: n.commit})
}

// follow records that from leads at ballot b, which this node has just accepted from (b >= promised).
func (n *Node) follow(from NodeID, b Ballot) {
	if !b.Less(n.leaderBal) {
		n.leader, n.leaderBal = from, b
	}
	n.heardTick = n.now
	n.resetElectionTimer()
}

// ---- proposer ----

// campaign starts phase 1 with a ballot above every ballot this node has seen.
func (n *Node) campaign() {
	round := max(n.maxBallot.Round, n.promised.Round) + 1
	n.role = candidate
	n.ballot = Ballot{Round: round, Node: n.cfg.ID}
	n.observe(n.ballot)
	n.leader, n.leaderBal = "", Ballot{}
	n.inflight = map[uint64]*proposal{}
	n.reads = nil
	// The candidate is its own first acceptor: it promises its ballot (durably, before the Prepares go out).
	n.promised = n.ballot
	n.persist(Record{Kind: RecPromise, Ballot: n.ballot})
	// Why (Multi-Paxos, Paxos Made Simple section 3): one phase 1 covers every slot from the first one this
	// node does not know chosen, so a stable leader runs only phase 2 afterwards.
	n.p1Start = n.commit + 1
	n.promises = map[NodeID]bool{n.cfg.ID: true}
	n.p1Acc = map[uint64]accepted{}
	n.p1Chosen = map[uint64]Value{}
	n.p1Commits = map[NodeID]uint64{n.cfg.ID: n.commit}
	n.merge(n.report(n.p1Start))
	n.resetElectionTimer()
	n.hbElapsed = 0
	n.resendPrepare()
	n.maybeLead()
}

func (n *Node) resendPrepare() {
	for _, p := range n.peers {
		if !n.promises[p] {
			n.send(Message{Type: MsgPrepare, To: p, Ballot: n.ballot, Slot: n.p1Start, Commit: n.commit})
		}
	}
}

// merge folds one promise's report into what phase 1 gathered: per slot the accepted value with the highest
// ballot, and every chosen value.
func (n *Node) merge(rs []Record) {
	for _, r := range rs {
		switch r.Kind {
		case RecChosen:
			n.p1Chosen[r.Slot] = cloneValue(*r.Value)
		case RecAccept:
			a, ok := n.p1Acc[r.Slot]
			take := !ok || a.ballot.Less(r.Ballot)
			switch activeMutation() {
			case mutLowestBallot:
				take = !ok || r.Ballot.Less(a.ballot) // MUTATION(lowest-ballot)
			case mutNoBallotCompare:
				take = true // MUTATION(no-ballot-compare)
			}
			if take {
				n.p1Acc[r.Slot] = accepted{ballot: r.Ballot, value: cloneValue(*r.Value)}
			}
		}
	}
}

func (n *Node) onPromise(m Message) {
	if n.role != candidate || m.Ballot != n.ballot || m.Slot != n.p1Start || n.promises[m.From] {
		return // stale or duplicate
	}
	n.promises[m.From] = true
	n.p1Commits[m.From] = m.Commit
	n.merge(m.Accepted)
	n.maybeLead()
}

func (n *Node) maybeLead() {
	// Why (Paxos phase 1): only a majority of promises guarantees that any value chosen at a lower ballot is
	// reported by at least one of them, because any two majorities intersect.
	if n.role == candidate && len(n.promises) >= n.quorum {
		n.becomeLeader()
	}
}

func (n *Node) becomeLeader() {
	n.role = leader
	n.leader, n.leaderBal = n.cfg.ID, n.ballot
	n.inflight = map[uint64]*proposal{}
	n.rounds = map[uint64]*hbRound{}
	n.reads = nil
	n.quorumTick = n.now
	n.leaseUntil, n.leaseUntilWall = 0, math.MinInt64
	n.hbElapsed = 0

	var maxCommit uint64
	var ahead NodeID
	for id, c := range n.p1Commits {
		if c > maxCommit || (c == maxCommit && id < ahead) {
			maxCommit, ahead = c, id
		}
	}
	hi := max(maxCommit, n.commit)
	for s := range n.p1Acc {
		hi = max(hi, s)
	}
	for s := range n.p1Chosen {
		hi = max(hi, s)
	}
	for s := range n.chosen {
		hi = max(hi, s)
	}

	if n.cfg.Flaw == FlawNaiveTickets {
		// FLAW(naive-tickets): the seed's step 6. The new leader ignores every value the promises reported and
		// fills the slots from its own knowledge, proposing no-ops (and then its clients' commands) where other
		// acceptors may already have accepted, or even chosen, another value.
		own := n.commit
		for s := range n.accepts {
			own = max(own, s)
		}
		for s := range n.chosen {
			own = max(own, s)
		}
		n.countIgnoredReports(max(hi, own), own, maxCommit, ahead)
		for s := n.p1Start; s <= own; s++ {
			if _, ok := n.chosen[s]; ok || s <= n.snapSlot() {
				continue
			}
			v := Value{}
			if a, ok := n.accepts[s]; ok {
				v = a.value
			}
			n.proposeSlot(s, v)
		}
		n.nextSlot = own + 1
		n.recoveredHi = own
		n.heartbeat()
		return
	}

	for s := n.p1Start; s <= hi; s++ {
		if _, ok := n.chosen[s]; ok || s <= n.snapSlot() {
			continue
		}
		if v, ok := n.p1Chosen[s]; ok {
			n.learn(s, v)
			continue
		}
		if s <= maxCommit {
			continue // chosen at another node; fetched by catch-up below
		}
		if a, ok := n.p1Acc[s]; ok {
			// Why (Paxos P2c, the repair of seed step 6): a value may already be chosen in s, and then it is the
			// accepted value with the highest ballot among any majority; proposing it is the only safe choice.
			n.proposeSlot(s, a.value)
		} else {
			// No acceptor of the majority accepted anything in s, so nothing was chosen there: fill the hole with
			// a no-op so later slots can be applied.
			n.proposeSlot(s, Value{})
		}
	}
	n.nextSlot = hi + 1
	n.recoveredHi = hi
	if maxCommit > n.commit && ahead != n.cfg.ID {
		n.send(Message{Type: MsgCatchupReq, To: ahead, Slot: n.commit + 1})
	}
	n.p1Acc, n.p1Chosen = nil, nil
	n.heartbeat()
}

// countIgnoredReports counts the acts of the naive-tickets flaw (see Status.FlawActs): each slot from p1Start
// to hi, not already chosen here, for which the promises reported a value (chosen, else the accepted value with
// the highest ballot: the one the correct leader adopts) that the naive leader does not propose. It proposes its
// own accepted value or a no-op in slots up to own, and leaves the slots above own to its clients' commands. A
// promise does not list the slots at or below its sender's commit index, only that index (maxCommit, the
// highest, from ahead): the correct leader fetches those slots, and each one above own that the naive leader
// leaves to new commands is an act too. (One at or below own, where it proposes what it accepted itself, is not
// counted: what was chosen there is not reported, and it may be that very value.)
func (n *Node) countIgnoredReports(hi, own, maxCommit uint64, ahead NodeID) {
	for s := n.p1Start; s <= hi; s++ {
		if _, ok := n.chosen[s]; ok || s <= n.snapSlot() {
			continue
		}
		var rep Value
		var what string
		if v, ok := n.p1Chosen[s]; ok {
			rep, what = v, "chosen"
		} else if a, ok := n.p1Acc[s]; ok {
			rep, what = a.value, fmt.Sprintf("accepted at ballot %v", a.ballot)
		} else {
			if s <= maxCommit && s > own {
				n.flawActed("slot %d: phase 1 of ballot %v heard that %v had chosen every slot up to %d; the leader ignored it and left the slot to new commands",
					s, n.ballot, ahead, maxCommit)
			}
			continue // nothing reported: the correct leader fetches the slot (at or below maxCommit) or proposes a no-op
		}
		if s > own {
			n.flawActed("slot %d: phase 1 of ballot %v reported %s %s; the leader ignored it and left the slot to new commands",
				s, n.ballot, describe(rep), what)
			continue
		}
		mine := n.accepts[s].value // the zero Value (a no-op) when this node accepted nothing in s
		if equalValue(mine, rep) {
			continue // the naive choice happens to be the reported value
		}
		n.flawActed("slot %d: phase 1 of ballot %v reported %s %s; the leader ignored it and proposed %s",
			s, n.ballot, describe(rep), what, describe(mine))
	}
}

// Propose hands client commands to the leader. It puts up to MaxBatch commands in each slot and starts phase
// 2 for those slots at once. It returns ErrNotLeader when this node does not lead (Status().Leader names who
// does, if known) and ErrTooMuchInflight when the slots would exceed MaxInflight; in both cases nothing was
// proposed.
func (n *Node) Propose(cmds ...Command) error {
	if n.role != leader {
		return ErrNotLeader
	}
	if len(cmds) == 0 {
		return nil
	}
	slots := (len(cmds) + n.cfg.MaxBatch - 1) / n.cfg.MaxBatch
	if len(n.inflight)+slots > n.cfg.MaxInflight {
		return ErrTooMuchInflight
	}
	for len(cmds) > 0 {
		k := min(len(cmds), n.cfg.MaxBatch)
		batch := Value{Commands: append([]Command(nil), cmds[:k]...)}
		cmds = cmds[k:]
		s := n.nextSlot
		n.nextSlot++
		n.proposeSlot(s, batch)
	}
	return nil
}

// proposeSlot starts phase 2 for slot s with value v at the leader's ballot.
func (n *Node) proposeSlot(s uint64, v Value) {
	if n.promised != n.ballot {
		panic(fmt.Sprintf("core: %s: leader at ballot %v proposes slot %d but promised %v", n.cfg.ID, n.ballot, s, n.promised))
	}
	if s <= n.snapSlot() {
		panic(fmt.Sprintf("core: %s: proposes slot %d at or below snapshot %d", n.cfg.ID, s, n.snapSlot()))
	}
	// The leader accepts its own proposal as an acceptor (durably, before the Accepts are sent).
	n.accepts[s] = accepted{ballot: n.ballot, value: cloneValue(v)}
	vv := cloneValue(v)
	n.persist(Record{Kind: RecAccept, Ballot: n.ballot, Slot: s, Value: &vv})
	n.inflight[s] = &proposal{value: cloneValue(v), acks: map[NodeID]bool{n.cfg.ID: true}}
	for _, p := range n.peers {
		vp := cloneValue(v)
		n.send(Message{Type: MsgAccept, To: p, Ballot: n.ballot, Slot: s, Value: &vp, Commit: n.commit})
	}
	if n.cfg.Flaw == FlawEarlyAck {
		// FLAW(early-ack): the seed's step 3 done wrong. The leader treats the slot as chosen once it has accepted
		// it itself, before a majority has, so a client can be answered for a write that a new leader then never
		// sees.
		if _, ok := n.chosen[s]; !ok && len(n.inflight[s].acks) < n.quorum {
			n.flawActed("slot %d (%s) chosen at ballot %v on this leader's own accept, %d of the %d accepts a majority needs",
				s, describe(v), n.ballot, len(n.inflight[s].acks), n.quorum)
		}
		n.learn(s, v)
	}
	n.maybeChoose(s)
}

func (n *Node) resendAccepts() {
	for _, s := range sortedKeys(n.inflight) {
		p := n.inflight[s]
		for _, peer := range n.peers {
			if !p.acks[peer] {
				v := cloneValue(p.value)
				n.send(Message{Type: MsgAccept, To: peer, Ballot: n.ballot, Slot: s, Value: &v, Commit: n.commit})
			}
		}
	}
}

func (n *Node) onAccepted(m Message) {
	n.noteCommit(m.From, m.Commit)
	if n.role != leader || m.Ballot != n.ballot {
		return
	}
	p := n.inflight[m.Slot]
	if p == nil {
		return
	}
	p.acks[m.From] = true
	n.maybeChoose(m.Slot)
}

func (n *Node) maybeChoose(s uint64) {
	p := n.inflight[s]
	// Why (Paxos phase 2): a value is chosen once a majority of acceptors accepted it at one ballot; any later
	// phase 1 majority then includes one of them and re-proposes it.
	if p == nil || len(p.acks) < n.quorum {
		return
	}
	delete(n.inflight, s)
	n.learn(s, p.value)
	// Why (seed step 5, "tell all servers to execute"): the other learners hear of the choice; one that misses
	// this message learns the slot by catch-up after the next heartbeat.
	for _, peer := range n.peers {
		n.send(Message{Type: MsgCommit, To: peer, Ballot: n.ballot, Entries: []Entry{{Slot: s, Value: cloneValue(p.value)}}, Commit: n.commit})
	}
}

func (n *Node) onNack(m Message) {
	if n.role != follower && n.ballot.Less(m.Ballot) {
		// Why: a higher ballot has a promise from this acceptor, so this node's ballot can never again gather a
		// majority including it; stepping down (and later stepping up above m.Ballot) is the only way on.
		n.stepDown("")
	}
}

func (n *Node) stepDown(leaderID NodeID) {
	n.role = follower
	n.inflight = map[uint64]*proposal{}
	n.reads = nil
	n.promises = nil
	n.p1Acc, n.p1Chosen, n.p1Commits = nil, nil, nil
	n.leaseUntil, n.leaseUntilWall = 0, math.MinInt64
	if n.leader == n.cfg.ID || leaderID != "" {
		n.leader = leaderID
		if leaderID == "" {
			n.leaderBal = Ballot{}
		}
	}
	n.resetElectionTimer()
}

// ---- learner ----

// learn records that slot s chose v.
func (n *Node) learn(s uint64, v Value) {
	if s <= n.snapSlot() {
		return
	}
	if old, ok := n.chosen[s]; ok {
		if !equalValue(old, v) {
			// Why (Paxos safety): at most one value is ever chosen per slot; two different ones mean replicas
			// diverge, which is exactly the seed's step 6 failure.
			n.violation("slot %d chosen with two values (%d and %d commands)", s, len(old.Commands), len(v.Commands))
		}
		return
	}
	n.chosen[s] = cloneValue(v)
	vv := cloneValue(v)
	n.persist(Record{Kind: RecChosen, Slot: s, Value: &vv})
	if p := n.inflight[s]; p != nil && !equalValue(p.value, v) {
		delete(n.inflight, s)
	}
	n.advanceCommit()
}

func (n *Node) advanceCommit() {
	for {
		if _, ok := n.chosen[n.commit+1]; !ok {
			return
		}
		n.commit++
	}
}

func (n *Node) onCommit(m Message) {
	if n.role != follower && n.ballot.Less(m.Ballot) && activeMutation() != mutNoStepDown { // MUTATION(no-step-down-on-snapshot)
		// Why: m.Ballot chose a slot, so a majority promised at least m.Ballot and this node's lower ballot can
		// never again gather a majority of accepts (majorities intersect).
		n.stepDown("")
	}
	for _, e := range m.Entries {
		n.overtakenEntry(e)
		n.learn(e.Slot, e.Value)
	}
	n.noteCommit(m.From, m.Commit)
}

// noteCommit remembers the highest commit index a peer reported, so a node that lags knows whom to ask. A commit
// index at or past a leader's next free slot proves that the log went past it (see overtaken).
func (n *Node) noteCommit(from NodeID, c uint64) {
	n.overtaken(c)
	if c > n.knownCommit {
		n.knownCommit, n.knownFrom = c, from
	}
}

// overtaken is called with a slot some message says is chosen (an entry of a Commit or CatchupResp, a snapshot's
// last slot, a peer's commit index). A leader that learns that a slot at or past its next free slot is chosen
// steps down: it never proposed that slot, so another proposer chose it, and at a ballot above this leader's
// (a lower ballot's value accepted by a majority would have been reported by this leader's phase 1 majority,
// and an acceptor that promised this ballot accepts no lower one). The log has gone past this leader: its own
// next proposal would land on a slot already chosen, or below a snapshot it installs. The node follows again
// and, if no leader is heard from, runs phase 1 anew from its first unchosen slot, which is past that slot.
//
// A candidate needs nothing: its phase 1 covers every slot from p1Start, and becomeLeader starts proposing above
// everything it knows chosen by then (commit, snapshot, the promises' commit indexes and reports).
func (n *Node) overtaken(slot uint64) {
	if activeMutation() == mutNoStepDown {
		return // MUTATION(no-step-down-on-snapshot): the leader stays, with its next slot below what is chosen
	}
	if n.role == leader && slot >= n.nextSlot {
		n.stepDown("")
	}
}

// overtakenEntry is overtaken for a chosen entry, and also steps a leader down when the entry is a slot it has in
// phase 2 with another value: every ballot above the one that chose a value proposes that value (Paxos P2c), so
// a different value was chosen at a ballot above this leader's.
func (n *Node) overtakenEntry(e Entry) {
	if activeMutation() == mutNoStepDown {
		return // MUTATION(no-step-down-on-snapshot)
	}
	if p := n.inflight[e.Slot]; n.role == leader && p != nil && !equalValue(p.value, e.Value) {
		n.stepDown("")
		return
	}
	n.overtaken(e.Slot)
}

func (n *Node) requestCatchup() {
	if n.knownCommit > n.commit && n.knownFrom != "" {
		n.send(Message{Type: MsgCatchupReq, To: n.knownFrom, Slot: n.commit + 1})
	}
}

func (n *Node) onCatchupReq(m Message) {
	from := max(m.Slot, 1)
	if n.snap != nil && from <= n.snap.Slot {
		// The slots were compacted: send the state machine's snapshot instead (then the slots after it).
		s := *n.snap
		n.send(Message{Type: MsgSnapshot, To: m.From, Snapshot: &s, Commit: n.commit})
		from = s.Slot + 1
	}
	var ents []Entry
	for s := from; s <= n.commit && len(ents) < catchupChunk; s++ {
		ents = append(ents, Entry{Slot: s, Value: cloneValue(n.chosen[s])})
	}
	if len(ents) > 0 {
		n.send(Message{Type: MsgCatchupResp, To: m.From, Entries: ents, Commit: n.commit})
	}
}

func (n *Node) onCatchupResp(m Message) {
	before := n.commit
	for _, e := range m.Entries {
		n.overtakenEntry(e)
		n.learn(e.Slot, e.Value)
	}
	n.noteCommit(m.From, m.Commit)
	if n.commit > before && m.Commit > n.commit {
		n.send(Message{Type: MsgCatchupReq, To: m.From, Slot: n.commit + 1})
	}
}

func (n *Node) onSnapshot(m Message) {
	n.noteCommit(m.From, m.Commit)
	s := *m.Snapshot
	if s.Slot <= n.commit {
		return // we have every slot it covers
	}
	// A leader's own slots are all below nextSlot; a snapshot covering nextSlot means the log went past it, and
	// once it is installed this leader could only propose at or below the snapshot.
	n.overtaken(s.Slot)
	n.snap = &s
	n.dropThrough(s.Slot)
	for id := range n.inflight {
		if id <= s.Slot {
			delete(n.inflight, id)
		}
	}
	n.commit = s.Slot
	n.advanceCommit()
	if n.applied < s.Slot {
		n.snapOut = &s // the next Ready installs it; Advance moves applied past it
	}
	// Durability: the snapshot record is written before the slots after it, so replay installs it first.
	n.persist(Record{Kind: RecSnapshot, Snapshot: &s})
}

// Compact tells the node that the driver's state machine has applied every slot up to slot and that data is its
// snapshot. The node forgets the slots up to slot, keeps the snapshot to send to replicas that lag behind it,
// and emits a RecSnapshot record in the next Ready. Compacting beyond what Ready handed out panics.
func (n *Node) Compact(slot uint64, data []byte) {
	if slot > n.applied {
		panic(fmt.Sprintf("core: %s: compact to slot %d beyond applied %d", n.cfg.ID, slot, n.applied))
	}
	if slot <= n.snapSlot() {
		return
	}
	s := Snapshot{Slot: slot, Data: append([]byte(nil), data...)}
	n.snap = &s
	n.dropThrough(slot)
	n.persist(Record{Kind: RecSnapshot, Snapshot: &s})
}

// ---- heartbeats, leases, reads ----

// heartbeat starts a new heartbeat round: it confirms leadership for reads, times the lease and tells
// followers the commit index.
func (n *Node) heartbeat() {
	n.hbSeq++
	n.rounds[n.hbSeq] = &hbRound{sentTick: n.now, sentWall: n.wall, acks: map[NodeID]bool{n.cfg.ID: true}}
	for seq := range n.rounds {
		if seq+64 < n.hbSeq {
			delete(n.rounds, seq)
		}
	}
	n.broadcast(Message{Type: MsgHeartbeat, Ballot: n.ballot, Commit: n.commit, Ctx: n.hbSeq})
	n.requestCatchup()
	n.checkRound(n.hbSeq)
}

func (n *Node) onHeartbeat(m Message) {
	if m.Ballot.Less(n.promised) {
		n.send(Message{Type: MsgNack, To: m.From, Ballot: n.promised})
		return
	}
	if n.role != follower && n.ballot.Less(m.Ballot) {
		n.stepDown(m.From)
	}
	n.follow(m.From, m.Ballot)
	n.noteCommit(m.From, m.Commit)
	n.send(Message{Type: MsgHeartbeatResp, To: m.From, Ballot: m.Ballot, Ctx: m.Ctx, Commit: n.commit})
	n.requestCatchup()
}

func (n *Node) onHeartbeatResp(m Message) {
	n.noteCommit(m.From, m.Commit)
	if n.role != leader || m.Ballot != n.ballot {
		return
	}
	r := n.rounds[m.Ctx]
	if r == nil {
		return
	}
	r.acks[m.From] = true
	n.checkRound(m.Ctx)
}

func (n *Node) checkRound(seq uint64) {
	r := n.rounds[seq]
	if r == nil || len(r.acks) < n.quorum {
		return
	}
	n.quorumTick = max(n.quorumTick, r.sentTick)
	if n.cfg.ReadMode == ReadLease {
		// Why: the lease is timed from when the heartbeat was SENT, not when the acks came back, because each
		// acknowledging follower started its promise refusal (leaseGuard) no earlier than that instant. The
		// drift margin covers clocks that tick at different rates.
		lease := r.sentTick + int64(float64(n.cfg.LeaseTicks)*(1-n.cfg.DriftMargin))
		switch activeMutation() {
		case mutLongLease:
			// MUTATION(long-lease): the lease outlasts the followers' promise refusal by a few ticks.
			lease = r.sentTick + int64(n.cfg.ElectionTicks) + 3
		case mutLeaseFromAck:
			// MUTATION(lease-from-ack): the lease is timed from when the majority's acknowledgements arrived.
			lease = n.now + int64(float64(n.cfg.LeaseTicks)*(1-n.cfg.DriftMargin))
		}
		n.leaseUntil = max(n.leaseUntil, lease)
		// FLAW(wallclock-lease): the same lease timed on the wall clock, with no drift margin. A wall clock that
		// jumps backwards makes the lease last longer than the followers' refusal.
		n.leaseUntilWall = max(n.leaseUntilWall, r.sentWall+int64(n.cfg.LeaseTicks)*n.cfg.TickNanos)
	}
	keep := n.reads[:0]
	for _, rd := range n.reads {
		if rd.round <= seq {
			n.readStates = append(n.readStates, ReadState{Ctx: rd.ctx, Index: rd.index})
		} else {
			keep = append(keep, rd)
		}
	}
	n.reads = keep
	for s := range n.rounds {
		if s <= seq {
			delete(n.rounds, s)
		}
	}
}

func (n *Node) leaseHolds() bool {
	if n.cfg.ReadMode != ReadLease || n.role != leader {
		return false
	}
	if n.cfg.Flaw == FlawWallclockLease {
		return n.wall < n.leaseUntilWall // FLAW(wallclock-lease): see checkRound
	}
	return n.now < n.leaseUntil
}

// readIndex is the slot a linearizable read must wait for: the commit index, or the last slot phase 1
// recovered if that is higher. Why the recovered slots: a new leader re-proposes slots a former leader may
// already have chosen and answered; its commit index lags them until phase 2 completes, and a read at that index
// would miss them. The leader's own later proposals are not waited for: none was answered before it was chosen,
// so a read may be ordered before any of them.
func (n *Node) readIndex() uint64 {
	return max(n.commit, n.recoveredHi)
}

// ReadIndex asks the leader for a point at which a read is linearizable; the answer comes as a ReadState with
// ctx in a later Ready. In index mode the leader confirms it still leads with a heartbeat round that a majority
// acknowledges, sent after this call. In lease mode it answers at once while its lease holds, else as in index
// mode. It returns ErrNotLeader on a node that does not lead. A pending request is dropped if the node stops
// leading; the driver times it out.
func (n *Node) ReadIndex(ctx uint64) error {
	if n.role != leader {
		return ErrNotLeader
	}
	idx := n.readIndex()
	if n.leaseHolds() {
		if n.cfg.Flaw == FlawWallclockLease && n.now >= n.leaseUntil {
			// FLAW(wallclock-lease): the correct lease, on ticks with the drift margin, ran out; only the wall
			// clock says the lease holds.
			n.flawActed("read %d answered at index %d on the wall-clock lease (%d ticks left by the wall clock); the tick lease with drift margin ran out %d ticks ago",
				ctx, idx, (n.leaseUntilWall-n.wall)/n.cfg.TickNanos, n.now-n.leaseUntil)
		}
		n.readStates = append(n.readStates, ReadState{Ctx: ctx, Index: idx})
		return nil
	}
	// Why: the round that confirms the read must be sent after the read arrived, or a leader deposed in between
	// could answer from a stale state (the confirmation must be a fresh majority).
	if activeMutation() == mutStaleRound && n.hbSeq > 0 {
		// MUTATION(stale-round): the read is confirmed by the latest heartbeat round, sent before it arrived.
		if _, open := n.rounds[n.hbSeq]; !open {
			n.readStates = append(n.readStates, ReadState{Ctx: ctx, Index: idx})
			return nil
		}
		n.reads = append(n.reads, pendingRead{ctx: ctx, index: idx, round: n.hbSeq})
		return nil
	}
	n.reads = append(n.reads, pendingRead{ctx: ctx, index: idx, round: n.hbSeq + 1})
	// The round starts now (Ready only reports work, it starts none); a driver batches the reads that arrive
	// together into one ReadIndex call, so one round confirms them all.
	n.heartbeat()
	return nil
}
