// Package kv is the key-value state machine that the Paxos node's driver and the deterministic simulation share.
//
// Data flows one way: a client operation (Op) is encoded into a core.Command's Data, the core chooses it into a
// slot, and the driver hands each chosen command, in slot order, to Store.Apply, which returns the operation's
// Result. Apply executes a command at most once per core.CommandID, even when a retried request was chosen in two
// slots, so a client that retries through another node never applies its write twice.
//
// A Store snapshots to bytes (Snapshot) and is rebuilt from them (Restore), so the core can compact its log and
// ship the state to a replica that fell too far behind.
package kv
