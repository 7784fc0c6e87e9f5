package main

import "github.com/spf13/cobra"

// addNodeCmd mounts `skeptic node`, the Paxos node that the runtimes start in each container or process.
func addNodeCmd(root *cobra.Command) {}
