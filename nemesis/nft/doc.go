// Package nft applies skeptic's network faults inside the network namespaces of Docker containers (or of any
// process), from the host, with nftables.
//
// Every node gets at most one table of skeptic's own, "inet skeptic", holding one chain hooked on input at
// filter priority. Each change rebuilds the whole table of every node in one netlink batch (add table; delete
// table; add table, chain and rules), so a node never sees half a rule set, and Heal only has to delete that
// one table. The rules match peer source addresses only:
//
//	Partition(g):  in node a's namespace  ip saddr <each b in g[a]> drop
//	Loss(l, p):    in l.To's namespace    ip saddr <l.From> numgen random mod 10000 < p*100 drop
//
// A one-way cut is a cut of packets, as on a real network and in Jepsen: datagrams flow in the open direction,
// but a TCP connection needs both (its acknowledgements travel back), so TCP stops both ways. The netproxy mesh
// of the local runtime cuts bytes per direction instead; a transport that sends each direction on its own
// connection sees the open direction work there.
//
// The harness's own clients reach the nodes from the host (the bridge's gateway address), so they are never
// touched, as Jepsen's control node is never partitioned.
//
// Delay needs the kernel's sch_netem qdisc; Delay probes for it (in a throwaway namespace) and returns an error
// wrapping nemesis.ErrUnsupported where it is missing. Where it exists, Delay puts a prio qdisc with a netem
// band on the sender's interface, with a u32 filter per receiver, through tc under nsenter.
//
// A killed node has no namespace: rules meant for it are skipped, Heal does not fail on it, and after the
// runtime restarts it (a new process, a new namespace) it calls Refresh to put the current rules back.
package nft
