// Command paxosnode is `skeptic node` alone: the runtime tests fall back to it while cmd/skeptic does not mount
// the node command yet.
package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/skeptic-dev/skeptic/targets/paxos/node"
)

func main() {
	root := &cobra.Command{Use: "skeptic", SilenceUsage: true}
	root.AddCommand(node.Command())
	if err := root.Execute(); err != nil {
		os.Exit(1)
	}
}
