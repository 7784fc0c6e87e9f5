package node

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/skeptic-dev/skeptic/targets/paxos/core"
)

// EnvPrefix prefixes the environment variable behind each flag: --peer-client-urls is also
// SKEPTIC_PEER_CLIENT_URLS, and --id is SKEPTIC_NODE_ID. A flag given on the command line wins.
const EnvPrefix = "SKEPTIC_"

// envName returns the environment variable for a flag.
func envName(flag string) string {
	if flag == "id" {
		return EnvPrefix + "NODE_ID"
	}
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// Command returns the `node` command, which runs one Paxos node until SIGTERM or SIGINT.
func Command() *cobra.Command {
	var (
		id, peers, peerURLs, read, flaw string
		cfg                             Config
	)
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Run one node of skeptic's Multi-Paxos key-value store",
		Long: `Run one node of skeptic's Multi-Paxos key-value store. It serves shared/PROTOCOL.md's HTTP API on
--client-addr and talks to its peers on --peer-addr. Every flag can also come from an environment variable:
--id from SKEPTIC_NODE_ID, and --some-flag from SKEPTIC_SOME_FLAG.`,
		Example: `  skeptic node --id n1 --peers n1=127.0.0.1:7001,n2=127.0.0.1:7002,n3=127.0.0.1:7003 \
    --peer-client-urls n1=http://127.0.0.1:8001,n2=http://127.0.0.1:8002,n3=http://127.0.0.1:8003 \
    --client-addr 127.0.0.1:8001 --peer-addr 127.0.0.1:7001 --data /tmp/n1`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: false,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyEnv(cmd.Flags()); err != nil {
				return err
			}
			var err error
			cfg.ID = id
			if cfg.Peers, err = ParseMap("--peers", peers); err != nil {
				return err
			}
			if cfg.PeerClientURLs, err = ParseMap("--peer-client-urls", peerURLs); err != nil {
				return err
			}
			if read != "" {
				if cfg.Read, err = parseReadMode(read); err != nil {
					return flagErrorf("--read", "%v", err)
				}
			}
			if cfg.Flaw, err = core.ParseFlaw(flaw); err != nil {
				return flagErrorf("--flaw", "%v", err)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			return Run(ctx, cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&id, "id", "", "this node's id, such as n1")
	f.StringVar(&peers, "peers", "", "every node's peer address as this node must dial it: n1=host:port,n2=host:port,... (this node included)")
	f.StringVar(&peerURLs, "peer-client-urls", "", "every node's client URL, for forwarding to the leader: n1=http://host:port,...")
	f.StringVar(&cfg.ClientAddr, "client-addr", "", "listen address of the HTTP API (host:port)")
	f.StringVar(&cfg.PeerAddr, "peer-addr", "", "listen address for peer messages (host:port)")
	f.StringVar(&cfg.DataDir, "data", "", "data directory for the durable log")
	f.StringVar(&read, "read", "", "read mode: index, log or lease (default index; lease with --flaw wallclock-lease)")
	f.StringVar(&flaw, "flaw", string(core.FlawNone), "deliberate bug: none, naive-tickets, stale-reads, early-ack, forget-promises or wallclock-lease")
	f.DurationVar(&cfg.Tick, "tick", DefaultTick, "length of one protocol tick (heartbeat every 5, election timeout from 30)")
	f.IntVar(&cfg.HeartbeatTicks, "heartbeat-ticks", DefaultHeartbeatTicks, "ticks between a leader's heartbeats")
	f.IntVar(&cfg.ElectionTicks, "election-ticks", DefaultElectionTicks, "minimum election timeout in ticks (each timeout is drawn from [n, 2n))")
	f.IntVar(&cfg.LeaseTicks, "lease-ticks", DefaultLeaseTicks, "leader lease in ticks for --read lease (below --election-ticks)")
	f.DurationVar(&cfg.RequestTimeout, "request-timeout", DefaultRequestTimeout, "how long a client request may wait before it is answered as unknown")
	f.Int64Var(&cfg.CompactBytes, "compact-bytes", DefaultCompactBytes, "log size in bytes above which the node snapshots and rewrites its log")
	f.Int64Var(&cfg.Seed, "seed", 0, "seed of the election jitter (0: derived from the id and a boot nonce)")
	return cmd
}

// applyEnv sets every flag not given on the command line from its environment variable.
func applyEnv(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "help" {
			return
		}
		env := envName(f.Name)
		v, ok := os.LookupEnv(env)
		if !ok {
			return
		}
		if e := fs.Set(f.Name, v); e != nil {
			err = &FlagError{Msg: fmt.Sprintf("--%s (from %s=%q): %v", f.Name, env, v, e)}
		}
	})
	return err
}
