package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	junit "github.com/joshdk/go-junit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestJUnitParsesBack writes JUnit for three runs (invalid, valid, stopped by an error) and reads it back with
// a JUnit parser: one testcase each, the invalid one failed with the anomaly in plain words as its message.
func TestJUnitParsesBack(t *testing.T) {
	bad, err := os.ReadFile("testdata/explain/stale-read.jsonl")
	require.NoError(t, err)
	badDir := runDir(t, bad)
	s, err := Write(badDir, nil, Options{})
	require.NoError(t, err)
	goodDir := runDir(t, genHistory(genSpec{Seed: 2, Ops: 200, Workers: 3, OpsPerKey: 100}))
	_, err = Write(goodDir, nil, Options{})
	require.NoError(t, err)

	path := filepath.Join(t.TempDir(), "junit.xml")
	require.NoError(t, WriteJUnit(path, []JUnitRun{
		{Test: "paxos-stale-reads-kv", Seed: 7, Dir: badDir, Verdict: "invalid"},
		{Test: "paxos-stale-reads-kv", Seed: 8, Dir: goodDir, Verdict: "valid"},
		{Test: "paxos-stale-reads-kv", Seed: 9, Verdict: "unknown", Error: "start cluster: no such image"},
	}))
	suites, err := junit.IngestFile(path)
	require.NoError(t, err)
	require.Len(t, suites, 1)
	suite := suites[0]
	require.Equal(t, "skeptic", suite.Name)
	require.Len(t, suite.Tests, 3)
	assert.Equal(t, 3, suite.Totals.Tests)
	assert.Equal(t, 1, suite.Totals.Failed)
	assert.Equal(t, 1, suite.Totals.Error)
	assert.Equal(t, 1, suite.Totals.Passed)

	failed := suite.Tests[0]
	assert.Equal(t, "paxos-stale-reads-kv #1 (seed 7)", failed.Name)
	assert.Equal(t, junit.StatusFailed, failed.Status)
	require.NotNil(t, failed.Error)
	assert.Equal(t, s.Anomalies[0].Text, failed.Message)
	assert.Contains(t, failed.Error.Error(), "re-run: skeptic check")
	assert.Equal(t, 5010*time.Millisecond, failed.Duration, "the span of the history")
	assert.Contains(t, failed.SystemOut, filepath.Join(badDir, ReportFile))

	assert.Equal(t, junit.StatusPassed, suite.Tests[1].Status)
	assert.Equal(t, junit.StatusError, suite.Tests[2].Status)
	assert.Equal(t, "start cluster: no such image", suite.Tests[2].Message)

	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(raw), "<?xml"))
}

// TestJUnitUnwritable: a JUnit file that cannot be written is an error naming it.
func TestJUnitUnwritable(t *testing.T) {
	err := WriteJUnit(filepath.Join(t.TempDir(), "no", "such", "junit.xml"), []JUnitRun{{Test: "x", Verdict: "valid"}})
	require.ErrorContains(t, err, "junit.xml")
}
