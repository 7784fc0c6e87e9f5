package checker

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/workloads"
)

// vectorsDir finds shared/vectors/jepsen-etcd: $SKEPTIC_VECTORS (the jepsen-etcd folder, or the vectors folder
// above it) when set, else ../shared/vectors/jepsen-etcd beside the repository. A SKEPTIC_VECTORS that names no
// vectors is a failure; so is a missing folder when CI=true. Elsewhere a missing folder skips.
func vectorsDir(tb testing.TB) string {
	tb.Helper()
	if env := os.Getenv("SKEPTIC_VECTORS"); env != "" {
		for _, c := range []string{env, filepath.Join(env, "jepsen-etcd")} {
			if _, err := os.Stat(filepath.Join(c, "verdicts.tsv")); err == nil {
				return c
			}
		}
		tb.Fatalf("SKEPTIC_VECTORS=%s holds no verdicts.tsv (nor does its jepsen-etcd folder)", env)
	}
	// go test runs in the package's folder, so the repository root is its parent (even under -trimpath).
	pkgDir, err := os.Getwd()
	require.NoError(tb, err)
	dir := filepath.Join(filepath.Dir(pkgDir), "..", "shared", "vectors", "jepsen-etcd")
	if _, err := os.Stat(filepath.Join(dir, "verdicts.tsv")); err == nil {
		return dir
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("jepsen-etcd vectors not found at %s; set SKEPTIC_VECTORS", dir)
	}
	tb.Skipf("jepsen-etcd vectors not found at %s; set SKEPTIC_VECTORS", dir)
	return ""
}

// verdicts reads verdicts.tsv: file name (without extension) -> linearizable.
func verdicts(tb testing.TB, dir string) map[string]bool {
	tb.Helper()
	f, err := os.Open(filepath.Join(dir, "verdicts.tsv"))
	require.NoError(tb, err)
	defer f.Close()
	out := map[string]bool{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		fields := strings.Split(sc.Text(), "\t")
		require.Len(tb, fields, 2, "verdicts.tsv:%d", line)
		if line == 1 {
			require.Equal(tb, []string{"file", "linearizable"}, fields)
			continue
		}
		require.Contains(tb, []string{"true", "false"}, fields[1], "verdicts.tsv:%d", line)
		out[fields[0]] = fields[1] == "true"
	}
	require.NoError(tb, sc.Err())
	return out
}

func TestJepsenVectors(t *testing.T) {
	dir := vectorsDir(t)
	want := verdicts(t, dir)
	require.Len(t, want, 50)
	seen := 0
	for _, ext := range []string{".log", ".edn"} {
		files, err := filepath.Glob(filepath.Join(dir, "etcd_*"+ext))
		require.NoError(t, err)
		require.Len(t, files, 50, "%s files", ext)
		for _, path := range files {
			name := strings.TrimSuffix(filepath.Base(path), ext)
			linearizable, ok := want[name]
			require.True(t, ok, "%s has no verdict", path)
			t.Run(filepath.Base(path), func(t *testing.T) {
				res, err := CheckFile(path, Options{Timeout: time.Minute})
				require.NoError(t, err)
				expect := Invalid
				if linearizable {
					expect = Valid
				}
				require.Equal(t, expect, res.Verdict, "keys: %+v", res.Keys)
				require.Len(t, res.Keys, 1)
				t.Logf("%s: %d ops, %v", res.Verdict, res.Keys[0].Ops, res.Keys[0].Duration)
				seen++
			})
		}
	}
	require.Equal(t, 100, seen)
}

// The two forms of each vector must convert to the same operations.
func TestJepsenFormsAgree(t *testing.T) {
	dir := vectorsDir(t)
	logs, err := filepath.Glob(filepath.Join(dir, "etcd_*.log"))
	require.NoError(t, err)
	require.NotEmpty(t, logs)
	for _, path := range logs {
		t.Run(filepath.Base(path), func(t *testing.T) {
			fromLog, err := history.ReadJepsenFile(path, "")
			require.NoError(t, err)
			fromEDN, err := history.ReadJepsenFile(strings.TrimSuffix(path, ".log")+".edn", "")
			require.NoError(t, err)
			require.Equal(t, fromLog, fromEDN)
		})
	}
}

// BenchmarkJepsenVectors checks the corpus with Check (conversion, per-key pool, verdict) and, on the same
// operations, with Porcupine alone; compare the two ns/op figures.
func BenchmarkJepsenVectors(b *testing.B) {
	dir := vectorsDir(b)
	files, err := filepath.Glob(filepath.Join(dir, "etcd_*.edn"))
	require.NoError(b, err)
	var corpus [][]history.Event
	var ops [][]porcupine.Operation
	total := 0 // operations in the corpus, for the ops/s metric
	for _, path := range files {
		events, err := history.ReadJepsenFile(path, "")
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
	dir := vectorsDir(t)
	want := verdicts(t, dir)
	for name, linearizable := range want {
		events, err := history.ReadJepsenFile(filepath.Join(dir, name+".edn"), "")
		require.NoError(t, err)
		keys, _, err := Operations(events)
		require.NoError(t, err)
		require.Equal(t, linearizable, porcupine.CheckOperations(plainModel, keys[0].Ops), name)
	}
}
