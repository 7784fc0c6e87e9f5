package harness

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/history"
)

func ev(i int64, t int64, p int, typ history.Type, f string, v any) history.Event {
	b, _ := json.Marshal(v)
	if v == nil {
		b = json.RawMessage("null")
	}
	return history.Event{Index: i, Time: t, Process: history.Process(p), Type: typ, F: f, Key: "k", Value: b}
}

// TestFirstInvalidPrefix: the detection time is the completion of the stale read, not the key's last event.
func TestFirstInvalidPrefix(t *testing.T) {
	evs := []history.Event{
		ev(0, 10, 0, history.Invoke, "write", 1),
		ev(1, 20, 0, history.Ok, "write", 1),
		ev(2, 30, 1, history.Invoke, "read", nil),
		ev(3, 40, 1, history.Ok, "read", 1),
		ev(4, 50, 1, history.Invoke, "write", 2),
		ev(5, 60, 1, history.Ok, "write", 2),
		ev(6, 70, 0, history.Invoke, "read", nil),
		ev(7, 80, 0, history.Ok, "read", 1), // stale: 2 was written before this read began
		ev(8, 90, 0, history.Invoke, "read", nil),
		ev(9, 100, 0, history.Ok, "read", 2),
		ev(10, 110, 1, history.Invoke, "write", 3), // never completes
	}
	at, ok := firstInvalidPrefix(evs)
	require.True(t, ok)
	assert.Equal(t, int64(80), at)

	// A valid history has no invalid prefix.
	_, ok = firstInvalidPrefix(evs[:6])
	assert.False(t, ok)
}

func TestMatrixMarkdown(t *testing.T) {
	m := Matrix{Target: "paxos", Nodes: 5, TimeLimit: Duration(time.Minute), Runtime: "docker", Date: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC),
		Cells: []*MatrixCell{
			{Flaw: "none", Fault: "partition", Runs: make([]MatrixRun, 10)},
			{Flaw: "none", Fault: "kill", Runs: make([]MatrixRun, 10), Detected: 1},
			{Flaw: "stale-reads", Fault: "partition", Runs: make([]MatrixRun, 5), Detected: 5, MedianDetection: Duration(3 * time.Second), MaxDetection: Duration(7 * time.Second)},
			{Flaw: "stale-reads", Fault: "kill", Runs: make([]MatrixRun, 5), Errors: 1},
		}}
	md := m.Markdown()
	assert.Contains(t, md, "| flaw | partition | kill |")
	assert.Contains(t, md, "| none | 0/10 | 1/10 (0s, max 0s) |")
	assert.Contains(t, md, "| stale-reads | 5/5 (3s, max 7s) | 0/5, 1 errors |")
	assert.True(t, strings.HasPrefix(md, "Detection matrix of target paxos: 5 nodes, 1m0s runs on the docker runtime, 2026-11-30."))
	assert.InDelta(t, 1.0, m.Cells[2].Rate(), 1e-9)
}

// TestMatrixFailFast: a matrix run with --fail-fast says so, and each run's command re-runs it with fail-fast.
func TestMatrixFailFast(t *testing.T) {
	tt := Default()
	tt.Flaw, tt.Seed, tt.Runtime, tt.FailFast = "early-ack", 7, "docker", true
	assert.True(t, strings.HasSuffix(rerunCommand(tt), " --seed 7 --fail-fast"), rerunCommand(tt))
	tt.FailFast = false
	assert.NotContains(t, rerunCommand(tt), "--fail-fast")
	m := Matrix{Target: "paxos", Nodes: 5, TimeLimit: Duration(time.Minute), Runtime: "docker", FailFast: true}
	assert.Contains(t, m.Markdown(), "With --fail-fast")
	m.FailFast = false
	assert.NotContains(t, m.Markdown(), "fail-fast")
}
