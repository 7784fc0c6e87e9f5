package main

import (
	"github.com/spf13/cobra"

	"github.com/skeptic-dev/skeptic/harness"
)

func newCleanCmd() *cobra.Command {
	var opts harness.CleanOptions
	cmd := &cobra.Command{
		Use:   "clean",
		Short: "Remove the Docker containers, networks and volumes that dead runs left behind",
		Long: `clean removes what runs left behind in Docker, and says what it removes and what it keeps.

By default it removes only the runs that no live process owns: runs whose harness (the skeptic that started
them) and whose reaper are both gone, such as a run whose machine lost power, or a cluster left by
--leave-db-running once its skeptic has exited. The clusters of runs still going on are kept, and listed.
  --run ID   removes that run's containers, network and volumes, whoever owns it (the id is printed at the
             start of each run, and by --leave-db-running).
  --all      removes every run labelled skeptic, also the clusters of runs still going on (it lists them
             first): those runs then end with exit code 255.
  --images   also removes skeptic's node images (skeptic-node:<hash>) that no remaining container uses; the
             next run builds its image again.
With $SKEPTIC_DOCKER_SCOPE=key=value, runs label their objects with it and clean touches only those.`,
		Example: `  skeptic clean                  # what dead runs left behind
  skeptic clean --run 20260101t120000z-1a2b
  skeptic clean --all --images   # everything skeptic made, running clusters too`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return codeFor(harness.Valid, harness.CleanRuns(cmd.Context(), opts, cmd.OutOrStdout()))
		},
	}
	cmd.Flags().StringVar(&opts.RunID, "run", "", "remove only the objects of this run id, whoever owns them")
	cmd.Flags().BoolVar(&opts.All, "all", false, "remove every run labelled skeptic, running clusters too")
	cmd.Flags().BoolVar(&opts.Images, "images", false, "also remove skeptic's node images that no remaining container uses")
	return cmd
}
