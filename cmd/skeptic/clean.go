package main

import (
	"github.com/spf13/cobra"

	"github.com/skeptic-dev/skeptic/harness"
)

func newCleanCmd() *cobra.Command {
	var runID string
	cmd := &cobra.Command{
		Use:   "clean",
		Short: "Remove every container, network and volume labelled skeptic (or those of one run)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return codeFor(harness.Valid, harness.Clean(cmd.Context(), runID, cmd.OutOrStdout()))
		},
	}
	cmd.Flags().StringVar(&runID, "run", "", "remove only the objects of this run id (default: every run)")
	return cmd
}
