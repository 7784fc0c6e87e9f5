// Package core is the Multi-Paxos protocol as a pure state machine, in the manner of go.etcd.io/raft's RawNode.
//
// It has no goroutines, no clock reads, no I/O and no randomness except Config.Rand. A driver feeds it messages
// (Step), logical clock ticks (Tick), client proposals (Propose) and read requests (ReadIndex), then takes the
// resulting work with Ready: records to make durable, messages to send, chosen slots to apply. The driver
// persists, sends and applies in the order Ready's comment gives, then calls Advance. Because nothing else goes
// in, one seed and one sequence of inputs replay one exact execution.
package core
