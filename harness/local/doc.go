// Package local is the runtime that runs each node of a cluster as a child process of the harness, on loopback.
//
// Every node is the same program (the spec's Binary, usually the running skeptic binary) with its own client
// and peer ports on 127.0.0.1, its own data dir RunDir/nodes/<id>/data, and its output appended to
// RunDir/nodes/<id>/node.log. Each child leads its own process group, so Pause and Kill reach everything it
// started, and has SIGKILL as its parent-death signal, so no node outlives a harness that is itself killed.
//
// Peers never dial each other directly: node a reaches node b through the harness's proxy for the link a->b
// (nemesis/netproxy), so NodeArgs.Peers differs from node to node. A node that forwards a client request to
// another node (a follower to its leader) goes through a second mesh, between client ports, named in
// NodeArgs.PeerClientURLs. The two meshes together are the cluster's Net, so a partition cuts both paths.
// The harness's own clients reach the nodes directly, and are never cut.
//
// The flow:
//
//	c, err := local.New().StartCluster(ctx, spec)  // ports, mesh, processes; every node answers
//	defer c.Teardown(context.Background())         // kill everything, close the mesh, remove the data
//	c.Proc().Pause(ctx, "n2")                      // SIGSTOP to n2's process group
package local
