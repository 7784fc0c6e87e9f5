package checker

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/internal/vectorstest"
	"github.com/skeptic-dev/skeptic/workloads"
)

// TestJepsenVectors checks every vector, in both forms, each read once by its content and once as its named
// format, with the default reading of a failed cas (observed): each must give its verdict in verdicts.tsv.
func TestJepsenVectors(t *testing.T) {
	dir := vectorstest.Dir(t)
	want := vectorstest.Verdicts(t, dir)
	require.Len(t, want, 50)
	seen := 0
	for _, form := range []struct {
		ext    string
		format history.Format
	}{{".log", history.FormatJepsenLog}, {".edn", history.FormatJepsenEDN}} {
		files, err := filepath.Glob(filepath.Join(dir, "etcd_*"+form.ext))
		require.NoError(t, err)
		require.Len(t, files, 50, "%s files", form.ext)
		for _, path := range files {
			name := strings.TrimSuffix(filepath.Base(path), form.ext)
			linearizable, ok := want[name]
			require.True(t, ok, "%s has no verdict", path)
			t.Run(filepath.Base(path), func(t *testing.T) {
				_, detected, err := history.ReadFileFormat(path, history.FormatAuto, history.JepsenOptions{})
				require.NoError(t, err)
				require.Equal(t, form.format, detected, "format told from the content")
				expect := Invalid
				if linearizable {
					expect = Valid
				}
				for _, format := range []history.Format{history.FormatAuto, form.format} {
					res, err := CheckFile(path, Options{Timeout: time.Minute, Format: format})
					require.NoError(t, err)
					require.Equal(t, expect, res.Verdict, "format %q, keys: %+v", format, res.Keys)
					require.Len(t, res.Keys, 1)
					require.Positive(t, res.Stats.Observations, "the vectors have :fail :cas, read as observations by default")
					t.Logf("%s: %d ops, %v", res.Verdict, res.Keys[0].Ops, res.Keys[0].Duration)
				}
				seen++
			})
		}
	}
	require.Equal(t, 100, seen)
}

// TestJepsenVectorsNeverHappened reads the vectors' failed cas as Knossos does: the failures are dropped, not
// counted as observations. On these fifty histories that gives the same verdicts (as the vectors' README says),
// so the default (observed) is not what their verdicts need; checker tests with a stale compare show where the
// two readings differ.
func TestJepsenVectorsNeverHappened(t *testing.T) {
	dir := vectorstest.Dir(t)
	want := vectorstest.Verdicts(t, dir)
	for name, linearizable := range want {
		for _, ext := range []string{".edn", ".log"} {
			path := filepath.Join(dir, name+ext)
			res, err := CheckFile(path, Options{Timeout: time.Minute, FailCAS: history.FailCASNeverHappened})
			require.NoError(t, err)
			require.Zero(t, res.Stats.Observations, path)
			obs, err := CheckFile(path, Options{Timeout: time.Minute})
			require.NoError(t, err)
			require.Equal(t, obs.Stats.Dropped+obs.Stats.Observations, res.Stats.Dropped, "%s: every observation is dropped instead", path)
			expect := Invalid
			if linearizable {
				expect = Valid
			}
			require.Equal(t, expect, res.Verdict, path)
		}
	}
}

// The two forms of each vector must convert to the same operations.
func TestJepsenFormsAgree(t *testing.T) {
	dir := vectorstest.Dir(t)
	logs, err := filepath.Glob(filepath.Join(dir, "etcd_*.log"))
	require.NoError(t, err)
	require.NotEmpty(t, logs)
	for _, path := range logs {
		t.Run(filepath.Base(path), func(t *testing.T) {
			fromLog, err := readVector(t, path)
			require.NoError(t, err)
			fromEDN, err := readVector(t, strings.TrimSuffix(path, ".log")+".edn")
			require.NoError(t, err)
			require.Equal(t, fromLog, fromEDN)
		})
	}
}

// BenchmarkJepsenVectors checks the corpus with Check (conversion, per-key pool, verdict) and, on the same
// operations, with Porcupine alone; compare the two ns/op figures.
func BenchmarkJepsenVectors(b *testing.B) {
	dir := vectorstest.Dir(b)
	files, err := filepath.Glob(filepath.Join(dir, "etcd_*.edn"))
	require.NoError(b, err)
	var corpus [][]history.Event
	var ops [][]porcupine.Operation
	total := 0 // operations in the corpus, for the ops/s metric
	for _, path := range files {
		events, err := readVector(b, path)
		require.NoError(b, err)
		corpus = append(corpus, events)
		keys, _, err := Operations(events)
		require.NoError(b, err)
		var all []porcupine.Operation
		for _, k := range keys {
			all = append(all, k.Ops...)
		}
		ops = append(ops, all)
		total += len(all)
	}
	// opsPerSec reports throughput in checked operations a second, comparable across the sub-benchmarks.
	opsPerSec := func(b *testing.B) {
		b.ReportMetric(float64(total)*float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	}
	b.Run("checker", func(b *testing.B) {
		for b.Loop() {
			for _, events := range corpus {
				if _, err := Check(events, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		}
		opsPerSec(b)
	})
	b.Run("checker-visualize", func(b *testing.B) {
		for b.Loop() {
			for _, events := range corpus {
				if _, err := Check(events, Options{Visualize: true}); err != nil {
					b.Fatal(err)
				}
			}
		}
		opsPerSec(b)
	})
	// The whole corpus as one history of 50 keys, as a kv run would give: the per-key pool at work.
	var merged []history.Event
	for n, events := range corpus {
		for _, e := range events {
			e.Key = fmt.Sprintf("etcd_%03d", n)
			e.Process += history.Process(1000 * n)
			e.Index = int64(len(merged))
			merged = append(merged, e)
		}
	}
	for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
		b.Run(fmt.Sprintf("checker-one-history-workers-%d", workers), func(b *testing.B) {
			for b.Loop() {
				if _, err := Check(merged, Options{Workers: workers}); err != nil {
					b.Fatal(err)
				}
			}
			opsPerSec(b)
		})
	}
	b.Run("porcupine", func(b *testing.B) {
		model := workloads.RegisterModel().Porcupine()
		for b.Loop() {
			for _, o := range ops {
				porcupine.CheckOperations(model, o)
			}
		}
		opsPerSec(b)
	})
	b.Run("porcupine-plain-model", func(b *testing.B) {
		for b.Loop() {
			for _, o := range ops {
				porcupine.CheckOperations(plainModel, o)
			}
		}
		opsPerSec(b)
	})
}

// plainModel is the register model written directly against Porcupine's interface{} API, as Porcupine's own
// etcd test writes it, with no generic wrapper and no Hash: the baseline for the cost of TypedModel.
var plainModel = porcupine.Model{
	Init: func() interface{} { return workloads.RegisterState{} },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		s := state.(workloads.RegisterState)
		in := input.(workloads.RegisterInput)
		out := output.(workloads.RegisterOutput)
		switch in.F {
		case workloads.Read:
			return s == out.Value, state
		case workloads.Write:
			return true, workloads.RegisterState{Set: true, Value: in.Arg}
		}
		matches := s.Set && s.Value == in.From
		switch out.Kind {
		case workloads.Done:
			return matches, workloads.RegisterState{Set: true, Value: in.To}
		case workloads.Unknown:
			if matches {
				return true, workloads.RegisterState{Set: true, Value: in.To}
			}
			return true, state
		}
		return !matches && (!out.Observed || s == out.Value), state
	},
}

// TestPlainModelAgrees keeps the benchmark's baseline honest: it must give the vectors' verdicts too.
func TestPlainModelAgrees(t *testing.T) {
	dir := vectorstest.Dir(t)
	want := vectorstest.Verdicts(t, dir)
	for name, linearizable := range want {
		events, err := readVector(t, filepath.Join(dir, name+".edn"))
		require.NoError(t, err)
		keys, _, err := Operations(events)
		require.NoError(t, err)
		require.Equal(t, linearizable, porcupine.CheckOperations(plainModel, keys[0].Ops), name)
	}
}

// readVector imports one vector file, its format told from the content.
func readVector(tb testing.TB, path string) ([]history.Event, error) {
	tb.Helper()
	events, _, err := history.ReadFileFormat(path, history.FormatAuto, history.JepsenOptions{})
	return events, err
}
