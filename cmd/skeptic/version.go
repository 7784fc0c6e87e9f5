package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/skeptic-dev/skeptic/harness"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print skeptic's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "skeptic %s (%s, %s/%s)\n", harness.Version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}
