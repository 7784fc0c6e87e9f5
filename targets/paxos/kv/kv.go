package kv

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/skeptic-dev/skeptic/targets/paxos/core"
)

// The operation names an Op's F takes.
const (
	FRead  = "read"
	FWrite = "write"
	FCas   = "cas"
)

// Op is a client operation, encoded into core.Command.Data.
type Op struct {
	F     string `json:"f"` // "read", "write" or "cas"
	Key   string `json:"k"`
	Value int64  `json:"v,omitempty"`    // write: the value written
	From  int64  `json:"from,omitempty"` // cas: the value expected
	To    int64  `json:"to,omitempty"`   // cas: the value written when From matched
}

// Validate reports whether op is well formed: a known F and a non-empty key.
func (op Op) Validate() error {
	switch op.F {
	case FRead, FWrite, FCas:
	default:
		return fmt.Errorf("kv: op field f: unknown operation %q (want read, write or cas)", op.F)
	}
	if op.Key == "" {
		return errors.New("kv: op field k: empty key")
	}
	return nil
}

// Encode returns op's wire form, the Data of a core.Command.
func Encode(op Op) []byte {
	b, err := json.Marshal(op)
	if err != nil {
		// An Op holds only strings and integers; Marshal cannot fail on it.
		panic(fmt.Sprintf("kv: encode %+v: %v", op, err))
	}
	return b
}

// Decode parses the Data of a core.Command back into an Op. It returns an error for bytes that are not an
// encoded Op, or that name an unknown operation or an empty key.
func Decode(b []byte) (Op, error) {
	if len(b) == 0 {
		return Op{}, errors.New("kv: decode: empty command data")
	}
	var op Op
	if err := json.Unmarshal(b, &op); err != nil {
		return Op{}, fmt.Errorf("kv: decode: %w", err)
	}
	if err := op.Validate(); err != nil {
		return Op{}, err
	}
	return op, nil
}

// Result is what applying one command produced.
type Result struct {
	// Value is the key's value for a read (nil when the key has none) and, for a cas that did not match, the value
	// it found instead (nil when the key had none).
	Value *int64 `json:"v,omitempty"`
	// Found reports that the key had a value (read).
	Found bool `json:"found,omitempty"`
	// Mismatch reports that a cas found another value than From and changed nothing; Value is what it found.
	Mismatch bool `json:"mismatch,omitempty"`
	// Duplicate reports that the command's ID was applied before and its original result is no longer known: the
	// caller must answer it as an unknown outcome, never as a failure.
	Duplicate bool `json:"dup,omitempty"`
	// Cached reports that the command's ID was applied before and this is the original result, remembered.
	Cached bool `json:"cached,omitempty"`
	// Err is set when the command's data was not a valid Op; nothing changed. It is deterministic, so every
	// replica reaches the same verdict.
	Err string `json:"err,omitempty"`
}

// Window is how many of a client's most recent sequence numbers a Store remembers. A command whose Seq is Window
// or more below the highest Seq seen from its client counts as a Duplicate: it may have been applied, and
// its result is gone. Clients must therefore not have more than Window requests outstanding at once.
const Window = 64

// session is what a Store remembers about one client: the highest Seq applied and the results of the applied
// seqs in (Max-Window, Max].
type session struct {
	Max     uint64            `json:"max"`
	Results map[uint64]Result `json:"res"`
}

// Store is the replicated key-value state machine. It is not safe for concurrent use.
type Store struct {
	data     map[string]int64
	sessions map[string]*session
}

// New returns an empty Store.
func New() *Store {
	return &Store{data: map[string]int64{}, sessions: map[string]*session{}}
}

// Apply executes cmd, which a slot chose, and returns its result. It executes each core.CommandID at most once,
// even if the same command was chosen in two slots (a client retried through another leader): a repeat returns
// the remembered result (Cached) or, once that left the window, Duplicate. Every replica applies the same
// commands in the same order, so every replica returns the same results.
func (s *Store) Apply(cmd core.Command) Result {
	sess := s.sessions[cmd.ID.Client]
	if sess == nil {
		sess = &session{Results: map[uint64]Result{}}
		s.sessions[cmd.ID.Client] = sess
	}
	if sess.Max >= Window && cmd.ID.Seq <= sess.Max-Window {
		// Older than the window: it may have been applied, and we cannot tell. Not applying it is the safe side.
		return Result{Duplicate: true}
	}
	if r, ok := sess.Results[cmd.ID.Seq]; ok {
		r.Cached = true
		return r
	}
	r := s.exec(cmd.Data)
	sess.Results[cmd.ID.Seq] = r
	if cmd.ID.Seq > sess.Max {
		sess.Max = cmd.ID.Seq
		if sess.Max >= Window {
			for seq := range sess.Results {
				if seq <= sess.Max-Window {
					delete(sess.Results, seq)
				}
			}
		}
	}
	return r
}

func (s *Store) exec(data []byte) Result {
	op, err := Decode(data)
	if err != nil {
		return Result{Err: err.Error()}
	}
	cur, found := s.data[op.Key]
	switch op.F {
	case FRead:
		if !found {
			return Result{}
		}
		return Result{Value: &cur, Found: true}
	case FWrite:
		s.data[op.Key] = op.Value
		return Result{}
	default: // FCas; Decode validated F
		if !found || cur != op.From {
			r := Result{Mismatch: true, Found: found}
			if found {
				r.Value = &cur
			}
			return r
		}
		s.data[op.Key] = op.To
		return Result{}
	}
}

// Get reads key from the local copy, without any coordination: it is linearizable only when the caller has
// made sure (read index, lease) that this copy is current.
func (s *Store) Get(key string) (v int64, ok bool) {
	v, ok = s.data[key]
	return v, ok
}

// Keys returns the keys that have a value, sorted.
func (s *Store) Keys() []string {
	ks := make([]string, 0, len(s.data))
	for k := range s.data {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// snapshot is the wire form of a Store. encoding/json writes map keys sorted, so equal stores give equal bytes.
type snapshot struct {
	Data     map[string]int64    `json:"data"`
	Sessions map[string]*session `json:"sessions"`
}

// Snapshot returns the Store's whole state (data and the at-most-once sessions) as bytes for Restore. Equal
// stores give equal bytes.
func (s *Store) Snapshot() ([]byte, error) {
	b, err := json.Marshal(snapshot{Data: s.data, Sessions: s.sessions})
	if err != nil {
		return nil, fmt.Errorf("kv: snapshot: %w", err)
	}
	return b, nil
}

// Restore rebuilds a Store from the bytes of Snapshot. Empty bytes restore an empty Store.
func Restore(b []byte) (*Store, error) {
	if len(b) == 0 {
		return New(), nil
	}
	var sn snapshot
	if err := json.Unmarshal(b, &sn); err != nil {
		return nil, fmt.Errorf("kv: restore: %w", err)
	}
	s := New()
	for k, v := range sn.Data {
		s.data[k] = v
	}
	for c, sess := range sn.Sessions {
		if sess == nil {
			return nil, fmt.Errorf("kv: restore: session %q is null", c)
		}
		if sess.Results == nil {
			sess.Results = map[uint64]Result{}
		}
		s.sessions[c] = sess
	}
	return s, nil
}
