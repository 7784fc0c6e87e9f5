// Command skeptic runs Jepsen-style linearizability tests against a cluster of nodes, and checks histories.
//
// It holds flags and commands only: each command fills in a harness.Test (or a check's options) and calls the
// harness, which does the work. Its exit codes are Jepsen's: 0 valid, 1 invalid, 2 unknown, 254 bad arguments
// or config, 255 setup or internal error.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/skeptic-dev/skeptic/harness"
	"github.com/skeptic-dev/skeptic/internal/field"
)

func main() {
	os.Exit(execute(os.Args[1:], os.Stdout, os.Stderr))
}

// exitError carries a command's exit code out of cobra.
type exitError struct {
	code int
	err  error // nil when the command already said everything
}

// Error returns the underlying error's message.
func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

// usageError is a bad flag or argument found by cobra or pflag.
type usageError struct{ err error }

// Error returns cobra's or pflag's message.
func (e *usageError) Error() string { return e.err.Error() }

// execute runs the command line args and returns the exit code. The first SIGINT or SIGTERM cancels the
// command's context, so the harness stops the load, tears the cluster down and keeps the history; a second one
// forces every cluster of this process down and exits at once.
func execute(args []string, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		s, ok := <-sigs
		if !ok {
			return
		}
		fmt.Fprintf(stderr, "\nskeptic: %v: %s\n", s, stoppingText(args))
		cancel()
		s, ok = <-sigs
		if !ok {
			return
		}
		fmt.Fprintf(stderr, "\nskeptic: %v again: forcing teardown and exiting\n", s)
		fctx, fcancel := context.WithTimeout(context.Background(), 20*time.Second)
		if err := harness.ForceTeardown(fctx); err != nil {
			fmt.Fprintf(stderr, "skeptic: forced teardown: %v\nskeptic: remove leftovers with: skeptic clean\n", err)
		}
		fcancel()
		os.Exit(harness.ExitError)
	}()
	return executeContext(ctx, args, stdout, stderr)
}

// stoppingText says what the first signal does to the command args runs: only run has a test and clusters to
// tear down.
func stoppingText(args []string) string {
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			continue
		}
		switch a {
		case "run":
			return "stopping the test and tearing the cluster down (a second signal forces exit)"
		case "node":
			return "shutting the node down"
		}
		break
	}
	return "stopping (a second signal forces exit)"
}

// executeContext runs args under ctx and maps the outcome to an exit code.
func executeContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "skeptic: %v\n", ee.err)
		}
		return ee.code
	}
	// Anything else comes from cobra or pflag: an unknown command or flag, a bad value, a wrong argument count.
	fmt.Fprintf(stderr, "skeptic: %v\n", err)
	name := "skeptic"
	if cmd != nil {
		name = cmd.CommandPath()
	}
	fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", name)
	return harness.ExitBadConfig
}

// newRoot builds the command tree.
func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "skeptic",
		Short: "Jepsen-style linearizability testing of distributed key-value stores",
		Long: `skeptic starts a cluster (in Docker, or as local processes), drives it with concurrent clients while a
nemesis injects faults, records every operation, and checks the history for linearizability with Porcupine.

Exit codes: 0 valid, 1 invalid, 2 unknown, 254 bad arguments or config, 255 no verdict: a setup or internal
error, an interrupted run (SIGINT, SIGTERM), or a cluster that vanished under the run.`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &usageError{err} })
	root.AddCommand(newRunCmd(), newCheckCmd(), newReportCmd(), newServeCmd(), newCleanCmd(), newImageCmd(), newVersionCmd(),
		newMatrixCmd(), newShrinkCmd())
	addNodeCmd(root)
	return root
}

// codeFor ends a command with the exit code for verdict v and err. A bad value of the configuration (a
// *field.Error) is shown with the flag that fills its field (badConfig); an *exitError passes as it is.
func codeFor(v harness.Verdict, err error) error {
	var ee *exitError
	if errors.As(err, &ee) {
		return err
	}
	if _, ok := field.As(err); ok {
		return badConfig(err)
	}
	code := harness.ExitCode(v, err)
	if code == 0 {
		return nil
	}
	return &exitError{code: code, err: err}
}
