package main

import (
	"io"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/skeptic-dev/skeptic/checker"
	"github.com/skeptic-dev/skeptic/internal/histgen"
	"github.com/skeptic-dev/skeptic/workloads"
)

// BenchmarkSkepticCheck (issue 9) runs `skeptic check FILE` end to end (reading, checking, results.json) on a
// generated history.jsonl of 1M operations (internal/histgen: 10 workers a key, 1000 operations a key, ~1%
// unknown), and, in the same iteration, raw porcupine.CheckOperations on the same operations (converted
// beforehand, untimed). Reported: check-s and raw-s (medians), and x-porcupine, the median of the
// per-iteration ratios (goal <= 1.3).
//
// Run: go test -run XXX -bench SkepticCheck -benchtime 3x ./cmd/skeptic
func BenchmarkSkepticCheck(b *testing.B) {
	const n = 1_000_000
	dir := b.TempDir()
	path := filepath.Join(dir, "history.jsonl")
	events := histgen.Events(histgen.Config{Ops: n, Seed: 9})
	if err := histgen.WriteFile(path, events); err != nil {
		b.Fatal(err)
	}
	keys, _, err := checker.Operations(events)
	if err != nil {
		b.Fatal(err)
	}
	events = nil
	var ops []porcupine.Operation
	for _, k := range keys {
		ops = append(ops, k.Ops...)
	}
	keys = nil
	model := workloads.RegisterModel().Porcupine()
	var ours, raw, ratios []float64
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		code := execute([]string{"check", path, "--out", filepath.Join(dir, "out", string(rune('a'+i)))}, io.Discard, io.Discard)
		d := time.Since(t0)
		if code != 0 {
			b.Fatalf("skeptic check exited %d", code)
		}
		t0 = time.Now()
		if !porcupine.CheckOperations(model, ops) {
			b.Fatal("raw Porcupine: not linearizable")
		}
		r := time.Since(t0)
		ours = append(ours, d.Seconds())
		raw = append(raw, r.Seconds())
		ratios = append(ratios, d.Seconds()/r.Seconds())
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(med(ours), "check-s")
	b.ReportMetric(med(raw), "raw-s")
	b.ReportMetric(med(ratios), "x-porcupine")
	b.ReportMetric(float64(n)/med(ours), "ops/s")
}

func med(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}
