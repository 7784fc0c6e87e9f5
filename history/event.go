package history

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Type is the kind of an event: an invocation, or one of the three ways an operation can end.
type Type string

// The four event types, as in Jepsen.
const (
	// Invoke starts an operation.
	Invoke Type = "invoke"
	// Ok ends an operation that certainly took effect (or, for a read, observed Value).
	Ok Type = "ok"
	// Fail ends an operation that certainly did not take effect. A cas whose Error is ErrCASMismatch is still an
	// observation: the register held Value at some instant inside the operation.
	Fail Type = "fail"
	// Info ends an operation whose outcome is unknown: it may take effect at any later time, or never. The
	// process that issued it is retired.
	Info Type = "info"
)

// Valid reports whether t is one of the four types.
func (t Type) Valid() bool {
	switch t {
	case Invoke, Ok, Fail, Info:
		return true
	}
	return false
}

// ErrCASMismatch is the Error of a cas that was evaluated and found a different value (PROTOCOL.md, 409).
const ErrCASMismatch = "cas-mismatch"

// Process identifies the logical client that issued an event. Workers use numbers from 0 up; the nemesis uses
// NemesisProcess, which is written as the string "nemesis".
type Process int

// NemesisProcess is the process of every nemesis event.
const NemesisProcess Process = -1

// MarshalJSON writes a worker process as a number and the nemesis as "nemesis".
func (p Process) MarshalJSON() ([]byte, error) {
	if p == NemesisProcess {
		return []byte(`"nemesis"`), nil
	}
	if p < 0 {
		return nil, fmt.Errorf("history: invalid process %d", int(p))
	}
	return strconv.AppendInt(nil, int64(p), 10), nil
}

// UnmarshalJSON accepts a non-negative integer or "nemesis".
func (p *Process) UnmarshalJSON(b []byte) error {
	if string(b) == `"nemesis"` {
		*p = NemesisProcess
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf(`process must be a non-negative integer or "nemesis", got %s`, b)
	}
	*p = Process(n)
	return nil
}

// String returns the process as it is written in logs.
func (p Process) String() string {
	if p == NemesisProcess {
		return "nemesis"
	}
	return strconv.Itoa(int(p))
}

// Event is one line of history.jsonl. Its fields are the contract of shared/ARCHITECTURE.md.
//
// Values of the register workloads:
//   - read: invoke value null; ok value the integer read, or null when the key has no value.
//   - write: the integer written, on invoke and on completion.
//   - cas: [from, to] on invoke and completion; a cas-mismatch fail carries the observed value (or null) instead.
//     Histories imported from Jepsen keep [from, to] on a cas-mismatch fail: Jepsen does not record what it saw.
//
// Nemesis events carry whatever JSON describes the fault exactly (a grudge, node ids, offsets).
type Event struct {
	// Index numbers events from 0 in the order they were written.
	Index int64 `json:"index"`
	// Time is nanoseconds since the run's monotonic base.
	Time int64 `json:"time"`
	// Process is the worker's current process number, or NemesisProcess.
	Process Process `json:"process"`
	// Type is invoke, ok, fail or info.
	Type Type `json:"type"`
	// F is the function: read, write, cas, or a nemesis function such as start-partition.
	F string `json:"f"`
	// Key is the register's key; empty for nemesis events.
	Key string `json:"key,omitempty"`
	// Value is the operation's JSON value (see above); nil is written as null.
	Value json.RawMessage `json:"value"`
	// Node is the node the operation was sent to, when there is one.
	Node string `json:"node,omitempty"`
	// Error says why an operation failed or is unknown.
	Error string `json:"error,omitempty"`
}

// Int encodes v as a JSON value.
func Int(v int64) json.RawMessage { return strconv.AppendInt(nil, v, 10) }

// Null is the JSON null value.
func Null() json.RawMessage { return json.RawMessage("null") }

// OptInt encodes a nullable integer: nil is null.
func OptInt(v *int64) json.RawMessage {
	if v == nil {
		return Null()
	}
	return Int(*v)
}

// Pair encodes a cas value [from, to].
func Pair(from, to int64) json.RawMessage {
	b := append([]byte{'['}, strconv.AppendInt(nil, from, 10)...)
	b = append(b, ',')
	b = strconv.AppendInt(b, to, 10)
	return append(b, ']')
}

// IsNull reports whether v is absent or the JSON null.
func IsNull(v json.RawMessage) bool { return len(v) == 0 || string(v) == "null" }

// AsOptInt decodes a nullable integer value.
func AsOptInt(v json.RawMessage) (*int64, error) {
	if IsNull(v) {
		return nil, nil
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("value %s is not an integer or null", v)
	}
	return &n, nil
}

// AsPair decodes a cas value [from, to].
func AsPair(v json.RawMessage) (from, to int64, err error) {
	var p []int64
	if err := json.Unmarshal(v, &p); err != nil || len(p) != 2 {
		return 0, 0, fmt.Errorf("value %s is not a pair [from, to] of integers", v)
	}
	return p[0], p[1], nil
}
