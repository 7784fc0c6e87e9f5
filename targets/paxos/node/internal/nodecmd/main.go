// Command nodecmd runs node.Command() on its own, for tests that need real node processes (kill -9 must kill a
// real process) before the skeptic CLI mounts it as `skeptic node`.
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
