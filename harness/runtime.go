package harness

import "github.com/skeptic-dev/skeptic/harness/cluster"

// The runtime seam lives in the leaf package harness/cluster, so that harness/docker and harness/local can
// implement it without importing this package (which imports them). These aliases keep its old names.

// Runtime starts clusters of a target's nodes: harness/docker as containers, harness/local as child processes.
// See cluster.Runtime.
type Runtime = cluster.Runtime

// ClusterSpec is what a runtime needs to start a cluster. See cluster.Spec.
type ClusterSpec = cluster.Spec

// Cluster is a running set of nodes. See cluster.Cluster.
type Cluster = cluster.Cluster
