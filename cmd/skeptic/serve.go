package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/skeptic-dev/skeptic/harness"
	"github.com/skeptic-dev/skeptic/report"
)

func newServeCmd() *cobra.Command {
	var store, addr string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Browse the store: a list of runs, newest first, and each run's report and files",
		Long: `serve starts a web server on --addr (loopback by default) that lists the runs of --store, newest first,
coloured by verdict, with each run's report and files. It serves only files inside the store. Stop it with
Ctrl-C.`,
		Example: `  skeptic serve
  skeptic serve --store /data/store --addr 127.0.0.1:9000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			srv, err := report.NewServer(store)
			if err != nil {
				return badArg("--store", err.Error())
			}
			defer srv.Close()
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return badArg("--addr", err.Error())
			}
			fmt.Fprintf(cmd.OutOrStdout(), "serving %s at http://%s/\n", store, ln.Addr())
			if ta, ok := ln.Addr().(*net.TCPAddr); ok && !ta.IP.IsLoopback() {
				fmt.Fprintf(cmd.ErrOrStderr(), "skeptic: warning: %s is not a loopback address: whoever can reach it can read the store\n", ln.Addr())
			}
			hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
			go func() {
				<-cmd.Context().Done()
				hs.Close()
			}()
			if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return codeFor(harness.Unknown, fmt.Errorf("serve: %w", err))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&store, "store", "store", "root folder of the run folders")
	f.StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on (loopback by default: the store is not for the network)")
	return cmd
}
