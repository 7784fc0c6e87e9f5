package report

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// maxReportBytes is the limit on report.html: a few MB at most, even for a run of 100,000 operations.
const maxReportBytes = 3 << 20

// hundredK is a kv history of 100,000 operations (about 30 s of 10 workers), with a partition of n3 and
// stale reads during it.
func hundredK() []byte {
	return genHistory(genSpec{Seed: 100, Ops: 100_000, Workers: 10, OpsPerKey: 100,
		Partition: [2]time.Duration{10 * time.Second, 20 * time.Second}, Stale: 30})
}

// TestReportSize100k measures report.html on a history of 100,000 operations and keeps it within its limit;
// the failed keys' visualizations are separate files, each bounded too.
func TestReportSize100k(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	dir := runDir(t, hundredK())
	s, err := Write(dir, nil, Options{})
	require.NoError(t, err)
	require.Equal(t, "invalid", s.Verdict)
	require.EqualValues(t, 100_000, s.Ops.Total())
	st, err := os.Stat(filepath.Join(dir, ReportFile))
	require.NoError(t, err)
	t.Logf("report.html of %d operations: %d bytes (limit %d); %d failed keys, %d explained", s.Ops.Total(), st.Size(), maxReportBytes, s.FailedKeys, len(s.Anomalies))
	require.LessOrEqual(t, st.Size(), int64(maxReportBytes))
	for _, a := range s.Anomalies {
		vs, err := os.Stat(filepath.Join(dir, a.Visualization))
		require.NoError(t, err)
		require.Less(t, vs.Size(), int64(2<<20), a.Key)
	}
}

// BenchmarkReport100k writes the report of 100,000 operations and reports its size (bytes/report).
func BenchmarkReport100k(b *testing.B) {
	h := hundredK()
	dir := b.TempDir()
	require.NoError(b, os.WriteFile(filepath.Join(dir, HistoryFile), h, 0o644))
	var size int64
	for b.Loop() {
		if _, err := Write(dir, nil, Options{}); err != nil {
			b.Fatal(err)
		}
		st, err := os.Stat(filepath.Join(dir, ReportFile))
		if err != nil {
			b.Fatal(err)
		}
		size = st.Size()
	}
	b.ReportMetric(float64(size), "bytes/report")
}
