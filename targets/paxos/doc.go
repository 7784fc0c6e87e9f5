// Package paxos is skeptic's own Multi-Paxos key-value store as a test target, with deliberate flaws that the
// harness must catch (see FLAWS.md).
//
// Data flow, from a client to the disk and back:
//
//	HTTP client (targets/httpkv) --PUT /kv/x--> node/ HTTP handler --request--> node/ event loop
//	    event loop: core.Propose --> core.Ready --> wal.Append + fsync --> transport sends --> peers
//	    peers' acceptors persist, answer; core chooses the slot --> Ready.Committed --> kv.Store.Apply
//	    --> the waiting handler answers 200 / 409 / 503(definite) / 504(unknown)
//
// The packages:
//   - core: the protocol as a pure state machine (no I/O, no clock, no goroutines);
//   - kv: the replicated key-value state machine with at-most-once client sessions;
//   - wal: the durable, checksummed, compactable log of core.Records;
//   - driver: the synchronous driver (batching, waiters, reads, apply, sweep, compaction, driver flaws) that node
//     and the simulation (sim) both run;
//   - node: the event loop, TCP transport, clock, HTTP API and flags around the driver, run as `skeptic node`;
//   - sim: the deterministic simulation of a cluster of drivers on simulated disks and networks;
//   - this package: the targets.Target that tells the harness how to start nodes and talk to them.
package paxos
