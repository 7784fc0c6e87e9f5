package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/skeptic-dev/skeptic/harness"
	"github.com/skeptic-dev/skeptic/targets/paxos/node"
)

// addNodeCmd mounts `skeptic node`, the Paxos node that the runtimes start in each container or process. Its
// errors get the same exit codes as the other commands: a bad flag value (a *node.FlagError) 254, anything
// else (a port in use, a broken data folder) 255.
func addNodeCmd(root *cobra.Command) {
	cmd := node.Command()
	cmd.SilenceErrors = true // executeContext prints every error once
	if run := cmd.RunE; run != nil {
		cmd.RunE = func(c *cobra.Command, args []string) error {
			err := run(c, args)
			if err == nil {
				return nil
			}
			var ee *exitError
			if errors.As(err, &ee) {
				return err
			}
			var fe *node.FlagError
			if errors.As(err, &fe) {
				return &exitError{code: harness.ExitBadConfig, err: err}
			}
			return &exitError{code: harness.ExitError, err: err}
		}
	}
	root.AddCommand(cmd)
}
