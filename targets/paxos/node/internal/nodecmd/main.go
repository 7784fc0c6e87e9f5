// Command nodecmd runs node.Command() on its own (what `skeptic node` runs), for the node package's tests that
// need real node processes (kill -9 must kill a real process) without building the whole skeptic CLI.
package main

import (
	"os"

	"github.com/skeptic-dev/skeptic/targets/paxos/node"
)

func main() {
	if err := node.Command().Execute(); err != nil {
		os.Exit(1)
	}
}
