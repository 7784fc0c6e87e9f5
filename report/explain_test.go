package report

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files of TestExplainGolden")

// runDir makes a run folder holding history as its history.jsonl.
func runDir(t *testing.T, history []byte) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, HistoryFile), history, 0o644))
	return dir
}

// TestExplainGolden explains each hand-made failing history of testdata/explain (a stale read, a lost write, a
// cas that found a value never written, a failure through an operation whose outcome is unknown, a stale read just after a partition healed) and compares
// the words with the .golden file beside it (go test ./report -run Golden -update rewrites them).
func TestExplainGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/explain/*.jsonl")
	require.NoError(t, err)
	require.Len(t, files, 5)
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".jsonl")
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			dir := runDir(t, b)
			s, err := Write(dir, nil, Options{})
			require.NoError(t, err)
			require.Equal(t, "invalid", s.Verdict)
			require.Len(t, s.Anomalies, 1)
			a := s.Anomalies[0]
			var got strings.Builder
			got.WriteString(a.Key + ": " + a.Kind + "\n" + a.Text + "\n")
			for _, fl := range a.Faults {
				got.WriteString("fault: " + fl + "\n")
			}
			if a.LastFault != "" {
				got.WriteString("last fault: " + a.LastFault + "\n")
			}
			if len(a.FaultyNodes) > 0 {
				got.WriteString("nodes under fault: " + strings.Join(a.FaultyNodes, ", ") + "\n")
			}
			golden := strings.TrimSuffix(f, ".jsonl") + ".golden"
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(got.String()), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "no golden file: run go test ./report -run Golden -update")
			require.Equal(t, string(want), got.String())
			// The explanation is on the report's page, and the key's visualization exists and carries the faults.
			page, err := os.ReadFile(filepath.Join(dir, ReportFile))
			require.NoError(t, err)
			require.Contains(t, string(page), htmlEscape(a.Text))
			require.NotEmpty(t, a.Visualization)
			vis, err := os.ReadFile(filepath.Join(dir, a.Visualization))
			require.NoError(t, err)
			require.Contains(t, string(vis), "cannot be linearized")
			for _, fl := range s.Faults {
				require.Contains(t, string(vis), fl.What)
			}
		})
	}
}

func htmlEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;")
	return r.Replace(s)
}
