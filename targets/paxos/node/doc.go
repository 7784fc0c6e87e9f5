// Package node is the Paxos node program: the driver that runs a core.Node with real disks, sockets and time,
// and serves shared/PROTOCOL.md over HTTP. The skeptic CLI mounts Command as `skeptic node`.
//
// One goroutine, the event loop (Node.run), owns the driver (targets/paxos/driver: the core, the kv.Store, the
// requests waiting, and the durable log); the simulation (targets/paxos/sim) runs the same driver in virtual time.
// Everything else talks to the event loop through bounded channels and never blocks it:
//
//	HTTP handler --request--> reqs ---------+
//	peer TCP listener --core.Message--> inbox --+--> event loop:
//	Clock (ticks every --tick of monotonic time) --+     1. drain every waiting input (group commit):
//	                                                        driver.Step / driver.Handle
//	                                                     2. driver.Tick for each tick due; driver.Sweep
//	                                                     3. driver.Flush: Propose(batch), ReadIndex(batch), then
//	                                                        for each core.Ready, strictly in its order:
//	                                                        a. install Snapshot into a fresh kv.Store
//	                                                        b. wal.Append(Records) + fsync   <- durability point
//	                                                        c. transport.send(Messages)      (only after b)
//	                                                        d. kv.Store.Apply(Committed) -> answer waiting writes
//	                                                        e. ReadStates -> answer reads once applied >= Index
//	                                                        f. Advance
//	                                                        and compact when the log passed --compact-bytes
//
// The transport dials every peer at the address --peers gives for it and only sends on that connection; it
// receives on --peer-addr. Send queues are bounded and drop when full; Paxos tolerates the loss.
//
// A request's outcome is one of: 200/409 (done), 503 with "definite": true (certainly not applied: nothing was
// proposed), or 504/500 with "definite": false (unknown: it was proposed, or forwarded, and then the answer did not
// come). A non-leader forwards the request to the leader's client URL (--peer-client-urls) once.
//
// Every time read goes through Clock, which POST /admin/clock skews (wall offset) and speeds up or slows down
// (rate, applied to both wall and monotonic time, so ticks and leases run at rate times real speed).
//
// The driver-level flaws (FLAWS.md) are marked FLAW(stale-reads) and FLAW(forget-promises) in the driver.
package node
