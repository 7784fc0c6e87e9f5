package harness

// The workload of a run, built from the Test.

import (
	"github.com/skeptic-dev/skeptic/internal/field"
	"github.com/skeptic-dev/skeptic/workloads"
)

// newWorkload builds the generator; its per-worker streams derive from the run's seed.
func newWorkload(t Test) (workloads.Workload, error) {
	wl, err := workloads.New(t.Workload, workloads.Config{
		Seed: t.Seed, Workers: t.Concurrency, Nodes: t.Nodes, OpsPerKey: t.OpsPerKey, WorkersPerKey: t.WorkersPerKey,
		ReadRatio: t.ReadRatio, WriteRatio: t.WriteRatio, CASRatio: t.CASRatio,
	})
	if fe, ok := field.As(err); ok && fe.Field == "workers" {
		// The workload's workers are the Test's concurrency; its other fields have the Test's names.
		return nil, &field.Error{Field: "concurrency", Msg: fe.Msg}
	}
	return wl, err
}
