package core

// MsgType is the kind of a protocol message.
type MsgType uint8

// Message types. Phase 1 is Prepare/Promise, phase 2 is Accept/Accepted; Commit announces chosen slots.
const (
	MsgPrepare MsgType = iota + 1
	MsgPromise
	MsgAccept
	MsgAccepted
	MsgCommit
	MsgHeartbeat
	MsgHeartbeatResp
	MsgCatchupReq
	MsgCatchupResp
	MsgSnapshot
	MsgNack
)

// Message is one protocol message between cores. It is a plain struct with exported fields so that a driver can
// encode it as JSON; drivers treat it as opaque except for From and To. The core may add fields.
type Message struct {
	Type   MsgType `json:"t"`
	From   NodeID  `json:"f"`
	To     NodeID  `json:"to"`
	Ballot Ballot  `json:"b"`
	// Slot is the slot of an Accept or Accepted, or the first slot a Prepare covers.
	Slot  uint64 `json:"s,omitempty"`
	Value *Value `json:"v,omitempty"`
	// Accepted lists, in a Promise, the acceptor's accepted values at or above the Prepare's slot, each with the
	// ballot it was accepted at (as Record with Kind RecAccept).
	Accepted []Record `json:"acc,omitempty"`
	// Entries carries chosen slots (Commit, CatchupResp).
	Entries []Entry `json:"ents,omitempty"`
	// Commit is the sender's commit index.
	Commit uint64 `json:"c,omitempty"`
	// Ctx ties a heartbeat response to a read-index request.
	Ctx      uint64    `json:"ctx,omitempty"`
	Snapshot *Snapshot `json:"snap,omitempty"`
}
