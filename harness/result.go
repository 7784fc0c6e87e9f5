package harness

// What a run found: the verdict, per key and in all, as results.json records it (a stable, versioned schema).

import (
	"encoding/json"
	"errors"
)

// Verdict is the outcome of a check, three-valued as Porcupine's: a checker that runs out of time says unknown,
// never valid.
type Verdict string

// The verdicts.
const (
	Valid   Verdict = "valid"
	Invalid Verdict = "invalid"
	Unknown Verdict = "unknown"
)

// KeyResult is the verdict on one key's history.
type KeyResult struct {
	// Key is the register's key.
	Key string `json:"key"`
	// Verdict is valid, invalid or unknown.
	Verdict Verdict `json:"verdict"`
	// Ops is the number of operations of the key that were checked.
	Ops int `json:"ops"`
	// Pruned is the number of unknown operations of the key left out of the check because nothing observed
	// their values (which cannot change the verdict; see the checker).
	Pruned int `json:"pruned,omitempty"`
	// Visualization is the path of the key's Porcupine visualization, written for keys that were not valid.
	Visualization string `json:"visualization,omitempty"`
}

// Result is what Run (or an offline check) found. Run writes it to the run folder as results.json.
//
// Written as results.json, its fields are a documented, stable schema (README, "results.json"): fields may be
// added, never renamed or removed, without raising ResultsSchema.
type Result struct {
	// Schema is the version of results.json's schema, ResultsSchema.
	Schema int `json:"schema"`
	// Verdict is the verdict on the whole history: invalid if any key is, else unknown if any key is, else valid.
	Verdict Verdict `json:"verdict"`
	// Interrupted is set when a signal (ctx) ended the run before its time limit; the history is kept, but not
	// checked.
	Interrupted bool `json:"interrupted,omitempty"`
	// Test is the test's name, RunID the run's id (the label of its containers), Dir the run folder.
	Test  string `json:"test,omitempty"`
	RunID string `json:"run_id,omitempty"`
	Dir   string `json:"dir,omitempty"`
	// Runtime is the runtime used, and Seed the run's seed.
	Runtime string `json:"runtime,omitempty"`
	Seed    int64  `json:"seed"`
	// Counts counts completions by function and outcome: Counts["read"]["ok"]. Nemesis events are not counted.
	Counts map[string]map[string]int64 `json:"counts"`
	// Ops is the number of operations invoked by workers (final reads included).
	Ops int64 `json:"ops"`
	// OpsPerSecond is the completion rate during the load phase.
	OpsPerSecond float64 `json:"ops_per_second"`
	// FirstOp is the time from the start of Run to the first operation's invocation (cluster start included).
	FirstOp Duration `json:"first_op"`
	// CheckTime is how long the linearizability check took.
	CheckTime Duration `json:"check_time"`
	// Keys holds the verdict of each key, invalid and unknown keys first.
	Keys []KeyResult `json:"keys"`
	// Paths names the run's files: config, history, results, log, nodes, visualizations.
	Paths map[string]string `json:"paths,omitempty"`
	// Error is the check's error, when it could not run.
	Error string `json:"error,omitempty"`
	// HealError says what could not be undone after the load (a node that did not restart, a partition that
	// stayed), so the final reads ran on a cluster still (partly) faulty; the history's "heal" event says it
	// too.
	HealError string `json:"heal_error,omitempty"`
	// Warnings says what of the input the check left out, such as a torn final line of a history file.
	Warnings []string `json:"warnings,omitempty"`
	// Faults lists the faults the nemesis applied; FlawActs is each node's flaw_acts at the end (targets that
	// count them); Notes says what the verdict alone does not (notes.go).
	Faults   []FaultRecord     `json:"faults,omitempty"`
	FlawActs map[string]uint64 `json:"flaw_acts,omitempty"`
	Notes    []string          `json:"notes,omitempty"`
	// Detection is the first key the online check proved not linearizable while the run went on (with
	// --fail-fast, the one that stopped it); OnlineChecked counts the keys checked online.
	Detection     *Detection `json:"detection,omitempty"`
	OnlineChecked int64      `json:"online_checked,omitempty"`
	// Availability is the fraction of the load's operations that succeeded, overall and outside fault windows.
	Availability *Availability `json:"availability,omitempty"`
}

// ResultsSchema is the version of results.json's schema.
const ResultsSchema = 1

// MarshalJSON writes the result with its schema version.
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result
	p := plain(r)
	p.Schema = ResultsSchema
	return json.Marshal(p)
}

// ErrInterrupted is returned by Run when ctx ended before the test did (SIGINT, SIGTERM). The cluster has been
// torn down (unless --leave-db-running) and the history kept.
var ErrInterrupted = errors.New("interrupted")
