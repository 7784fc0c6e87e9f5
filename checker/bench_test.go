package checker

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/internal/histgen"
	"github.com/skeptic-dev/skeptic/workloads"
)

// The benchmarks of the checker (issue 9). Each checks generated kv histories (internal/histgen: 10 workers a
// key, 1000 operations a key, ~1% unknown outcomes, valid by construction) and, in the same iteration, the same
// operations through raw porcupine.CheckOperations, so that the ratio is measured side by side on a machine
// whose load changes. Reported, besides ns/op (the median time of skeptic's side):
//
//	ops/s         history operations per second, skeptic's side (median)
//	raw-ops/s     the same through raw Porcupine (median)
//	x-porcupine   skeptic's time over raw Porcupine's, median of the per-iteration ratios (goal <= 1.2 for
//	              Check, <= 1.3 for CheckFile, reading included)
//	alloc-B/op    bytes allocated per history operation by skeptic's side
//	peak-B/op     growth of the process's peak resident memory per history operation, skeptic's side
//	              (Linux: VmHWM, reset before each measurement); goal <= 1 KB
//
// Run: go test -run XXX -bench 'Check' -benchtime 3x ./checker

var benchSizes = []int{10_000, 100_000, 1_000_000}

func sizeName(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return strconv.Itoa(n/1_000_000) + "M"
	case n >= 1000 && n%1000 == 0:
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}

var (
	genMu    sync.Mutex
	genCache = map[int][]history.Event{}
)

// benchHistory returns the generated history of n operations, made once per process.
func benchHistory(n int) []history.Event {
	genMu.Lock()
	defer genMu.Unlock()
	if ev, ok := genCache[n]; ok {
		return ev
	}
	ev := histgen.Events(histgen.Config{Ops: n, Seed: 9})
	genCache[n] = ev
	return ev
}

// rawOps converts events to one flat slice of Porcupine operations, as a user of raw Porcupine would hand them
// over (the model partitions them by key).
func rawOps(tb testing.TB, events []history.Event) []porcupine.Operation {
	keys, _, err := Operations(events)
	if err != nil {
		tb.Fatal(err)
	}
	var all []porcupine.Operation
	for _, k := range keys {
		all = append(all, k.Ops...)
	}
	return all
}

// rawCheck is the baseline: porcupine.CheckOperations on the whole history.
func rawCheck(tb testing.TB, ops []porcupine.Operation) time.Duration {
	model := workloads.RegisterModel().Porcupine()
	t0 := time.Now()
	ok := porcupine.CheckOperations(model, ops)
	d := time.Since(t0)
	if !ok {
		tb.Fatal("raw Porcupine: the generated history is not linearizable")
	}
	return d
}

// peakRSS runs f and returns how far the process's peak resident memory rose above its resident memory before
// f, after resetting the peak (Linux only; 0 elsewhere or when it cannot be read).
func peakRSS(f func()) int64 {
	runtime.GC()
	debug.FreeOSMemory()
	before := procStatus("VmRSS:")
	reset := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	f()
	if !reset || before < 0 {
		return 0
	}
	return max(procStatus("VmHWM:")-before, 0)
}

// procStatus reads a kB field of /proc/self/status, in bytes; -1 if it cannot.
func procStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte(field)); ok {
			var kb int64
			if _, err := fmt.Sscan(string(rest), &kb); err == nil {
				return kb * 1024
			}
		}
	}
	return -1
}

func allocated() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// sideBySide collects per-iteration figures and reports their medians.
type sideBySide struct {
	ops               int
	ours, raw, ratios []float64
	alloc, peak       []float64
}

func (s *sideBySide) add(ours, raw time.Duration, alloc uint64, peak int64) {
	s.ours = append(s.ours, float64(ours))
	s.raw = append(s.raw, float64(raw))
	s.ratios = append(s.ratios, float64(ours)/float64(raw))
	s.alloc = append(s.alloc, float64(alloc)/float64(s.ops))
	s.peak = append(s.peak, float64(peak)/float64(s.ops))
}

func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func (s *sideBySide) report(b *testing.B) {
	ours, raw := median(s.ours), median(s.raw)
	b.ReportMetric(ours, "ns/op")
	b.ReportMetric(float64(s.ops)/(ours/1e9), "ops/s")
	b.ReportMetric(float64(s.ops)/(raw/1e9), "raw-ops/s")
	b.ReportMetric(median(s.ratios), "x-porcupine")
	b.ReportMetric(median(s.alloc), "alloc-B/op")
	b.ReportMetric(median(s.peak), "peak-B/op")
}

// BenchmarkCheck: Check on events in memory (conversion, pruning and checking) against raw Porcupine on the
// converted operations.
func BenchmarkCheck(b *testing.B) {
	for _, n := range benchSizes {
		b.Run("ops="+sizeName(n), func(b *testing.B) {
			events := benchHistory(n)
			ops := rawOps(b, events)
			s := &sideBySide{ops: n}
			b.ResetTimer()
			for range b.N {
				var res Result
				var err error
				a0 := allocated()
				var d time.Duration
				peak := peakRSS(func() {
					t0 := time.Now()
					res, err = Check(events, Options{})
					d = time.Since(t0)
				})
				alloc := allocated() - a0
				if err != nil || res.Verdict != Valid {
					b.Fatalf("Check: %v %v", res.Verdict, err)
				}
				s.add(d, rawCheck(b, ops), alloc, peak)
			}
			s.report(b)
		})
	}
}

// BenchmarkCheckFile: CheckFile on history.jsonl (reading, conversion, pruning and checking; what
// `skeptic check` does but for writing results.json) against raw Porcupine on the same operations. The raw
// operations are built, untimed, after CheckFile's memory is measured, and dropped before the next iteration,
// so they do not count in CheckFile's peak.
func BenchmarkCheckFile(b *testing.B) {
	for _, n := range benchSizes {
		b.Run("ops="+sizeName(n), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "history.jsonl")
			if err := histgen.WriteFile(path, benchHistory(n)); err != nil {
				b.Fatal(err)
			}
			genMu.Lock()
			delete(genCache, n) // CheckFile's memory is measured without the events in memory
			genMu.Unlock()
			s := &sideBySide{ops: n}
			b.ResetTimer()
			for range b.N {
				var res Result
				var err error
				a0 := allocated()
				var d time.Duration
				peak := peakRSS(func() {
					t0 := time.Now()
					res, err = CheckFile(path, Options{})
					d = time.Since(t0)
				})
				alloc := allocated() - a0
				if err != nil || res.Verdict != Valid {
					b.Fatalf("CheckFile: %v %v", res.Verdict, err)
				}
				events, err := history.ReadFile(path)
				if err != nil {
					b.Fatal(err)
				}
				ops := rawOps(b, events)
				events = nil
				s.add(d, rawCheck(b, ops), alloc, peak)
			}
			s.report(b)
		})
	}
}
