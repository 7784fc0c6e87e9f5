package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/skeptic-dev/skeptic/harness"
)

func newImageCmd() *cobra.Command {
	var binary string
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Build (or reuse) the node image and tag it skeptic-node:latest; print its tag",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tag, err := harness.BuildImage(cmd.Context(), binary, cmd.ErrOrStderr())
			if err != nil {
				return codeFor(harness.Unknown, err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), tag)
			return nil
		},
	}
	cmd.Flags().StringVar(&binary, "node-binary", "", "static program to pack (default: this skeptic, rebuilt statically)")
	return cmd
}
