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
		Long: `clean removes what runs leave behind in Docker, and says what it removed. With --run it removes only that
run's containers, network and volumes (the id is printed at the start of each run, and by --leave-db-running).
Without --run it removes everything labelled skeptic: the clusters of runs still going, and the node images too.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return codeFor(harness.Valid, harness.Clean(cmd.Context(), runID, cmd.OutOrStdout()))
		},
	}
	cmd.Flags().StringVar(&runID, "run", "", "remove only the objects of this run id (default: every run)")
	return cmd
}
