// Package sim is a deterministic simulation of a cluster of Paxos nodes, each the real driver
// (targets/paxos/driver) running the real core (targets/paxos/core), its kv.Store (targets/paxos/kv) and the real
// write-ahead log (targets/paxos/wal) on a simulated disk, under a hostile network, crashes, torn writes and skewed
// clocks. Only the goroutines, sockets, HTTP and the real clock of targets/paxos/node are left out.
//
// Everything runs on one goroutine, in virtual time, from one *rand.Rand made from the seed, so a seed replays
// one exact execution. Data flows like this:
//
//	clients --requests--> driver.Handle --Flush: Propose/ReadIndex--> core.Node --Ready--> driver
//	   ^                      |  records: wal.Append + fsync on the simulated disk, before any message leaves
//	   |                      |  messages to the simulated network (drop, duplicate, delay, reorder, partition)
//	   +------replies---------+  committed slots to kv.Store; results and read answers back to clients
//
// The nemesis, drawn from the same rand, partitions nodes (isolation, random splits, one-way cuts, Jepsen's
// majorities ring and bridge, links that lose most of their messages, slow links), pauses them (SIGSTOP: state
// kept, nothing handled, what arrives waits until they resume), keeps a leader cut off until the others elect a
// new one and then lets it back in (to everyone or to one node), holds a stale bridge for many election timeouts
// (the leader hears one node only, which also hears the new leader, mostly over links that lose every prepare and
// accept but carry heartbeats, commits, catch-up and snapshots, so that node catches up without raising its
// promise), crashes and restarts them, skews the rate of their clocks and jumps their wall clocks. Each seed
// switches on a random subset of these fault kinds (swarm testing), picks how often nodes compact (so snapshots
// travel) and how often leaders heartbeat, makes some clients stay with their node after a timeout, as clients
// bound to one node do, and half the time makes one client a reader that only reads, from the node it is bound to
// (its peers' writes block on a leader that lost its majority; a reader keeps asking that leader).
//
// Crashes. A node crashes between events, right after it sends a message of a chosen type, after it fsynced a
// Ready's records and before it sends that Ready's messages, or in the middle of an fsync. The disk then keeps
// what was fsynced and, drawn from the seed, none, some or all of what was written after it, the last record
// possibly torn or ending in zeros; a file whose directory entry was never fsynced is gone. The node restarts from
// what wal.Open recovers. The forget-promises flaw is the driver that keeps its records in memory only.
//
// Clocks. In the read modes whose safety does not rest on clocks (index, log) a clock's rate ranges from half to
// twice the real rate, as the harness's clock nemesis does, and half the time further, down to a twentieth (as
// /admin/clock allows; the store claims these modes safe under any clock fault), and the node is then often cut
// off for 20 to 80 ticks: a leader whose ticks crawl heartbeats rarely and notices late that it lost its majority. In lease mode the
// rate stays within the lease's drift margin, the bound under which the store claims lease reads are safe. Wall
// clocks jump by tens of ticks or by seconds.
//
// Run returns the clients' history, with ambiguous outcomes marked, and any failure of the run itself: two nodes
// that applied different values in one slot, a node that cannot restart from its disk, a panic of a node's code
// (recovered by Run and reported as Result.Panic, which fails the seed's Verdict). The
// package's tests check the history for linearizability with Porcupine, over thousands of seeds, and show that
// each flaw of the Paxos target is caught.
package sim
