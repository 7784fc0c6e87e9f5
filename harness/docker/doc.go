// Package docker is the runtime that runs each node of a cluster as a container on the local Docker engine.
//
// Nothing can be pulled: the node program is packed into a FROM scratch image through the Docker API with a tar
// build context made in memory (a dynamically linked program with its ELF interpreter and shared libraries,
// internal/elfpack), and tagged skeptic-node:<hash of the packed files>, so the next run reuses it; or a target
// names an image already in the local Docker. Each run then gets
//
//   - its own bridge network skeptic-<run>, with a /24 in 10.201.0.0/16 that no other network uses, and fixed
//     addresses: n1 is .11, n2 .12, ...;
//   - a volume per node, skeptic-<run>-<node>, mounted at the target's data dir (/data), so a killed node
//     restarts with its data;
//   - a container per node, skeptic-<run>-<node>, with no restart policy, no privileges and no published port:
//     the harness reaches a node at http://<its address>:<client port> (8080 for Paxos, 2379 for etcd), and its
//     peers at <address>:<peer port>.
//
// Attach instead takes containers that already run (a user's docker-compose cluster) and faults them the same
// way, removing only what skeptic added.
//
// Every container, network, volume and image carries the label skeptic=1, and every run's objects the label
// skeptic.run=<run> and the identity (pid, start time, boot id) of the harness that made them and of its reaper
// (owner.go), so that Clean finds what a crashed run left behind and, by default, leaves alone the runs whose
// harness or reaper still runs. A run's containers do not outlive its
// harness: StartCluster starts a reaper (this same executable, in its own session, see reaper.go) that removes
// the run's objects if the harness dies, even by SIGKILL, before Teardown.
//
// The flow:
//
//	rt, err := docker.New()                 // or docker.Available(ctx) first, to choose a runtime
//	c, err := rt.StartCluster(ctx, spec)    // image, network, volumes, containers; every node answers
//	defer c.Teardown(context.Background())  // heal, unpause, save logs, remove everything
//	c.Proc().Kill(ctx, "n2")                // SIGKILL; Start runs the same container on the same volume
//	pid, err := c.PID(ctx, "n2")            // for faults put into the node's network namespace
//
// Network faults are nemesis/nft's: nftables rules, matching peer source addresses only, in each node's own
// network namespace (entered through the pid PID returns). The harness reaches the nodes from the host through
// the bridge's gateway address, which no rule matches. When Proc.Start restarts a node, its new namespace gets
// the current rules again (nft.Net.Refresh), a few milliseconds after the process started.
//
// Each node's output is streamed into RunDir/nodes/<id>/node.log while it runs, across kills and restarts.
package docker
