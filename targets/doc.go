// Package targets is the contract between the harness and a system under test.
//
// A Target says how to start one node of the system (a program and its arguments, templated with the node's id,
// addresses, peers and data directory) and which optional capabilities of shared/PROTOCOL.md it serves. A Client
// performs one Op against one node and classifies how it ended: ok, fail (certainly not applied) or info
// (unknown). The harness never talks to a node except through a Client.
package targets
