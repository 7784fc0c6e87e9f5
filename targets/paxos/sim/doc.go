// Package sim is a deterministic simulation of a cluster of Paxos cores (targets/paxos/core), each applying its
// chosen slots to a kv.Store (targets/paxos/kv), under a hostile network, crashes and skewed clocks.
//
// Everything runs on one goroutine, in virtual time, from one *rand.Rand made from the seed, so a seed replays
// one exact execution. Data flows like this:
//
//	clients --requests--> node drivers --Propose/ReadIndex/Step/Tick--> core.Node --Ready--> driver
//	   ^                      |  records to the simulated disk ("fsynced" at once, before messages leave)
//	   |                      |  messages to the simulated network (drop, duplicate, delay, reorder, partition)
//	   +------responses-------+  committed slots to kv.Store; results and read answers back to clients
//
// The nemesis, drawn from the same rand, partitions nodes (isolation, random splits, one-way cuts, Jepsen's
// majorities ring and bridge, links that lose most of their messages), pauses them (SIGSTOP: state kept, nothing
// handled, what arrives waits until they resume), crashes and restarts them from the records they persisted,
// skews the rate of their clocks and jumps their wall clocks. Each seed switches on a random subset of these
// fault kinds (swarm testing), picks how often nodes compact (so snapshots travel), and makes some clients stay
// with their node after a timeout, as clients bound to one node do. Run returns the clients' history, with
// ambiguous outcomes marked, and any agreement violation: two nodes that applied different values in one slot.
// Crashes strike between events. The simulated driver fsyncs each Ready's records before it sends that Ready's
// messages, so the records of every Ready it handled survive; a crash between writing and fsyncing a Ready is
// the same, seen from outside, as losing the input that caused it (nothing was sent or applied), which the
// network already does. The forget-promises flaw is the driver that fsyncs nothing: it restarts with no records.
//
// The package's tests check the history for linearizability with Porcupine, over thousands of seeds, and show
// that each flaw of the Paxos target is caught.
package sim
