package main

import (
	"github.com/spf13/cobra"

	"github.com/skeptic-dev/skeptic/targets/paxos/node"
)

// addNodeCmd mounts `skeptic node`, the Paxos node that the runtimes start in each container or process.
func addNodeCmd(root *cobra.Command) { root.AddCommand(node.Command()) }
