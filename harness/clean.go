package harness

// skeptic clean: what runs left behind.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/skeptic-dev/skeptic/harness/docker"
	"github.com/skeptic-dev/skeptic/internal/field"
)

// CleanOptions says what CleanRuns removes; see docker.CleanOptions.
type CleanOptions struct {
	// RunID limits the clean to one run, whoever owns it.
	RunID string
	// All removes every run labelled skeptic, also the clusters of runs still going on.
	All bool
	// Images also removes skeptic's node images that no remaining container uses.
	Images bool
}

// CleanRuns removes what runs left behind in Docker and says on out what it removes and what it keeps. By default
// it removes only the runs whose harness and reaper are both gone; --run and --all choose otherwise (opts).
func CleanRuns(ctx context.Context, opts CleanOptions, out io.Writer) error {
	if opts.RunID != "" && opts.All {
		return field.Errorf("clean.all", "cannot be used with --run: --run removes one run, --all every run")
	}
	if err := docker.Available(ctx); err != nil {
		// Only the docker runtime leaves anything behind: "or use --runtime local" is no advice here.
		return setupErr("clean", errors.New(strings.TrimSuffix(err.Error(), ", or use --runtime local")))
	}
	res, err := docker.CleanWith(ctx, docker.CleanOptions{RunID: opts.RunID, All: opts.All, Images: opts.Images,
		Plan: func(remove, keep []string) {
			if len(remove) > 0 {
				if opts.All {
					fmt.Fprintln(out, "clean --all removes every run labelled skeptic, running or not:")
				} else {
					fmt.Fprintln(out, "removing:")
				}
				for _, r := range remove {
					fmt.Fprintf(out, "  %s\n", r)
				}
			}
			for _, k := range keep {
				fmt.Fprintf(out, "kept %s\n", k)
			}
			if len(keep) > 0 {
				fmt.Fprintln(out, "  (skeptic clean --run ID removes one of these, skeptic clean --all every one)")
			}
		}})
	for _, x := range res.Removed {
		fmt.Fprintf(out, "removed %s\n", x)
	}
	if len(res.Removed) == 0 && err == nil {
		switch {
		case opts.RunID != "":
			fmt.Fprintf(out, "nothing of run %s to remove\n", opts.RunID)
		case len(res.Kept) > 0:
			fmt.Fprintln(out, "nothing to remove: every run left is still owned by a live harness")
		default:
			fmt.Fprintln(out, "nothing labelled skeptic to remove")
		}
	}
	if err != nil {
		return setupErr("clean", err)
	}
	return nil
}

// Clean removes what dead runs left behind (the runs whose harness and reaper are gone), or only the objects of
// runID, and says what it removed on out. CleanRuns has every mode.
func Clean(ctx context.Context, runID string, out io.Writer) error {
	if err := docker.Available(ctx); err != nil {
		// Only the docker runtime leaves anything behind: "or use --runtime local" is no advice here.
		return setupErr("clean", errors.New(strings.TrimSuffix(err.Error(), ", or use --runtime local")))
	}
	removed, err := docker.Clean(ctx, runID)
	for _, x := range removed {
		fmt.Fprintf(out, "removed %s\n", x)
	}
	if len(removed) == 0 && err == nil {
		if runID == "" {
			fmt.Fprintln(out, "nothing labelled skeptic to remove")
		} else {
			fmt.Fprintf(out, "nothing of run %s to remove\n", runID)
		}
	}
	if err != nil {
		return setupErr("clean", err)
	}
	return nil
}
