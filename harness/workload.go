package harness

// The workload of a run, built from the Test.

import "github.com/skeptic-dev/skeptic/workloads"

// newWorkload builds the generator; its per-worker streams derive from the run's seed.
func newWorkload(t Test) (workloads.Workload, error) {
	perKey := t.WorkersPerKey
	if perKey == 0 {
		perKey = min(t.Nodes, t.Concurrency)
	}
	wl, err := workloads.New(t.Workload, workloads.Config{
		Seed: t.Seed, Workers: t.Concurrency, OpsPerKey: t.OpsPerKey, WorkersPerKey: perKey,
		ReadRatio: t.ReadRatio, WriteRatio: t.WriteRatio, CASRatio: t.CASRatio,
	})
	if err != nil {
		return nil, asConfigError(err)
	}
	return wl, nil
}
