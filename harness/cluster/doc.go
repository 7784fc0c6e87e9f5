// Package cluster holds the seam between the harness loop and its runtimes: Runtime starts a Cluster from a
// Spec, and the Cluster hands the nemesis its Proc and Net.
//
// It is a leaf package (it imports only nemesis and targets) so that the runtimes, harness/docker and
// harness/local, can implement it without importing package harness, which imports them.
//
// The flow:
//
//	spec := cluster.Spec{RunID: ..., Target: t, Nodes: 3, Binary: bin, RunDir: dir, Log: w}
//	c, err := rt.Start(ctx, spec)      // every node answers on its client address
//	defer c.Teardown(context.Background())
//	... clients dial c.Nodes()[i].ClientURL; the nemesis acts through c.Proc() and c.Net() ...
package cluster
