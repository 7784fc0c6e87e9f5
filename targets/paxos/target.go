package paxos

import (
	"fmt"
	"strings"

	"github.com/skeptic-dev/skeptic/targets"
	"github.com/skeptic-dev/skeptic/targets/httpkv"
	"github.com/skeptic-dev/skeptic/targets/paxos/core"
	"github.com/skeptic-dev/skeptic/targets/paxos/node"
)

// Options chooses the build of the Paxos store a Target starts.
type Options struct {
	// Flaw is the deliberate bug each node runs with; "" is none.
	Flaw core.Flaw
	// Read is the read mode; "" is index, or lease with the wallclock-lease flaw (which acts only on lease reads).
	Read core.ReadMode
	// ExtraArgs are appended to each node's arguments (for example "--tick", "5ms").
	ExtraArgs []string
	// Client options for NewClient, such as httpkv.WithTimeout.
	Client []httpkv.Option
}

// Target is the skeptic Paxos key-value store as a targets.Target. Its program is the skeptic binary itself,
// run as `skeptic node ...`.
type Target struct {
	opts Options
}

var _ targets.Target = (*Target)(nil)

// New returns the Paxos target. It returns an error naming the option when Flaw or Read is unknown.
func New(opts Options) (*Target, error) {
	f, err := core.ParseFlaw(string(opts.Flaw))
	if err != nil {
		return nil, fmt.Errorf("paxos target: flaw: %w", err)
	}
	opts.Flaw = f
	switch opts.Read {
	case "":
		opts.Read = core.ReadIndex
		if opts.Flaw == core.FlawWallclockLease {
			opts.Read = core.ReadLease // the flaw lives in the lease; without lease reads it never acts
		}
	case core.ReadIndex, core.ReadLog, core.ReadLease:
	default:
		return nil, fmt.Errorf("paxos target: read mode %q is not index, log or lease", opts.Read)
	}
	return &Target{opts: opts}, nil
}

// Name is "paxos" for every build; the flaw and read mode are in the node arguments and the run config.
func (t *Target) Name() string { return "paxos" }

// Capabilities: the node serves both /admin/status and /admin/clock.
func (t *Target) Capabilities() []targets.Capability {
	return []targets.Capability{targets.CapStatus, targets.CapClock}
}

// Args returns `node --id ... --data ...` for the skeptic binary.
func (t *Target) Args(a targets.NodeArgs) ([]string, error) {
	args := []string{"node",
		"--id", a.ID,
		"--peers", node.FormatMap(a.Peers),
		"--peer-client-urls", node.FormatMap(a.PeerClientURLs),
		"--client-addr", a.ClientListen,
		"--peer-addr", a.PeerListen,
		"--data", a.DataDir,
		"--read", string(t.opts.Read),
		"--flaw", string(t.opts.Flaw),
	}
	return append(args, t.opts.ExtraArgs...), nil
}

// Env returns no extra variables: everything is in Args. (The node also reads SKEPTIC_NODE_ID, SKEPTIC_PEERS, ...
// for container setups that prefer the environment.)
func (t *Target) Env(a targets.NodeArgs) ([]string, error) { return nil, nil }

// NewClient returns a shared/PROTOCOL.md client bound to n.
func (t *Target) NewClient(n targets.Node) (targets.Client, error) {
	if n.ClientURL == "" || !strings.HasPrefix(n.ClientURL, "http") {
		return nil, fmt.Errorf("paxos target: node %s has no http client URL (got %q)", n.ID, n.ClientURL)
	}
	return httpkv.New(n.ClientURL, t.opts.Client...), nil
}

// Options returns the options the target was built with.
func (t *Target) Options() Options { return t.opts }
