package node

import (
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/skeptic-dev/skeptic/targets/paxos/core"
)

// Config is everything a node needs to start. Command fills it from flags and environment variables; tests fill
// it directly.
type Config struct {
	// ID is this node's id (--id).
	ID string
	// Peers maps every node id, this one included, to the peer address this node dials to reach it (--peers).
	Peers map[string]string
	// PeerClientURLs maps node ids to client base URLs, used to forward requests to the leader
	// (--peer-client-urls). A node missing here cannot be forwarded to.
	PeerClientURLs map[string]string
	// ClientAddr is the HTTP listen address for clients and admin (--client-addr); PeerAddr is the peer listen
	// address (--peer-addr). Port 0 picks a free port (see Node.ClientAddr).
	ClientAddr, PeerAddr string
	// DataDir holds the durable log (--data). Unused with FlawForgetPromises.
	DataDir string
	// Read is the read mode (--read): index, log or lease. Empty is index, or lease with FlawWallclockLease.
	Read core.ReadMode
	// Flaw is the deliberate bug to switch on (--flaw).
	Flaw core.Flaw
	// Tick is the length of one core tick on the node's monotonic clock (--tick).
	Tick time.Duration
	// HeartbeatTicks, ElectionTicks and LeaseTicks are the core's timers, in ticks; zero picks the defaults
	// (5, 30 and 20).
	HeartbeatTicks, ElectionTicks, LeaseTicks int
	// RequestTimeout bounds how long a client request waits for its outcome before it is answered as unknown
	// (--request-timeout).
	RequestTimeout time.Duration
	// CompactBytes is the log size above which the node snapshots and rewrites its log (--compact-bytes).
	CompactBytes int64
	// Seed seeds the core's randomness (election jitter); zero derives one from the id and the boot time.
	Seed int64
	// Log receives the node's log lines; nil means os.Stderr.
	Log io.Writer

	// Test hooks (same package only): wrapStorage wraps the node's durable log; onSend sees each message just
	// before the transport takes it.
	wrapStorage func(storage) storage
	onSend      func(core.Message)
}

// FlagError is a bad value of the node's flags (or of the Config they fill): the caller's input is at fault, as
// opposed to a node that cannot start (a port in use, a broken data folder). The CLI exits 254 for it.
type FlagError struct {
	// Flag is the flag at fault, with its dashes ("--peers"); empty when the message names several.
	Flag string
	// Msg says what is wrong, and what is allowed.
	Msg string
}

// Error returns "--flag: message", or the message alone.
func (e *FlagError) Error() string {
	if e.Flag == "" {
		return e.Msg
	}
	return e.Flag + ": " + e.Msg
}

func flagErrorf(flag, format string, args ...any) *FlagError {
	return &FlagError{Flag: flag, Msg: fmt.Sprintf(format, args...)}
}

// Defaults for Config's zero fields.
const (
	DefaultTick           = 10 * time.Millisecond
	DefaultHeartbeatTicks = 5
	DefaultElectionTicks  = 30
	DefaultLeaseTicks     = 20
	DefaultRequestTimeout = 3 * time.Second
	DefaultCompactBytes   = 32 << 20
)

// withDefaults fills zero fields and validates; each error is a *FlagError naming the flag that is wrong.
func (c Config) withDefaults() (Config, error) {
	if c.ID == "" {
		return c, flagErrorf("--id", "a node id is required")
	}
	if len(c.Peers) == 0 {
		return c, flagErrorf("--peers", "at least this node's own entry is required (id=host:port,...)")
	}
	if _, ok := c.Peers[c.ID]; !ok {
		return c, flagErrorf("--peers", "has no entry for this node's id %q (it lists %s)", c.ID, strings.Join(sortedKeys(c.Peers), ","))
	}
	for id, u := range c.PeerClientURLs {
		if _, ok := c.Peers[id]; !ok {
			return c, flagErrorf("--peer-client-urls", "node %q is not in --peers", id)
		}
		if _, err := url.Parse(u); err != nil {
			return c, flagErrorf("--peer-client-urls", "node %s: %v", id, err)
		}
	}
	if c.ClientAddr == "" {
		return c, flagErrorf("--client-addr", "a listen address is required (host:port)")
	}
	if c.PeerAddr == "" {
		return c, flagErrorf("--peer-addr", "a listen address is required (host:port)")
	}
	if c.Flaw == "" {
		c.Flaw = core.FlawNone
	}
	if _, err := core.ParseFlaw(string(c.Flaw)); err != nil {
		return c, flagErrorf("--flaw", "%v", err)
	}
	if c.DataDir == "" && c.Flaw != core.FlawForgetPromises {
		return c, flagErrorf("--data", "a data directory is required")
	}
	if c.Read == "" {
		c.Read = core.ReadIndex
		if c.Flaw == core.FlawWallclockLease {
			c.Read = core.ReadLease // the flaw lives in the lease; without lease reads it never acts
		}
	}
	if _, err := parseReadMode(string(c.Read)); err != nil {
		return c, flagErrorf("--read", "%v", err)
	}
	if c.Tick == 0 {
		c.Tick = DefaultTick
	}
	if c.Tick < time.Millisecond {
		return c, flagErrorf("--tick", "must be at least 1ms, got %s", c.Tick)
	}
	if c.HeartbeatTicks == 0 {
		c.HeartbeatTicks = DefaultHeartbeatTicks
	}
	if c.ElectionTicks == 0 {
		c.ElectionTicks = DefaultElectionTicks
	}
	if c.LeaseTicks == 0 {
		c.LeaseTicks = DefaultLeaseTicks
	}
	switch {
	case c.HeartbeatTicks < 0 || c.ElectionTicks < 0 || c.LeaseTicks < 0:
		return c, &FlagError{Msg: fmt.Sprintf("--heartbeat-ticks, --election-ticks and --lease-ticks must be positive (got %d, %d, %d)", c.HeartbeatTicks, c.ElectionTicks, c.LeaseTicks)}
	case c.HeartbeatTicks >= c.ElectionTicks:
		return c, &FlagError{Msg: fmt.Sprintf("--heartbeat-ticks (%d) must be below --election-ticks (%d)", c.HeartbeatTicks, c.ElectionTicks)}
	case c.LeaseTicks >= c.ElectionTicks:
		return c, &FlagError{Msg: fmt.Sprintf("--lease-ticks (%d) must be below --election-ticks (%d)", c.LeaseTicks, c.ElectionTicks)}
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.RequestTimeout < 0 {
		return c, flagErrorf("--request-timeout", "must be positive, got %s", c.RequestTimeout)
	}
	if c.CompactBytes == 0 {
		c.CompactBytes = DefaultCompactBytes
	}
	if c.CompactBytes < 4096 {
		return c, flagErrorf("--compact-bytes", "must be at least 4096, got %d", c.CompactBytes)
	}
	return c, nil
}

func parseReadMode(s string) (core.ReadMode, error) {
	switch core.ReadMode(s) {
	case core.ReadIndex, core.ReadLog, core.ReadLease:
		return core.ReadMode(s), nil
	}
	return "", fmt.Errorf("unknown read mode %q (want index, log or lease)", s)
}

// ParseMap parses "n1=v1,n2=v2" (the form of --peers and --peer-client-urls). Errors are *FlagError for flag.
func ParseMap(flag, s string) (map[string]string, error) {
	out := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for i, part := range strings.Split(s, ",") {
		id, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || id == "" || v == "" {
			return nil, flagErrorf(flag, "entry %d %q is not id=value", i+1, part)
		}
		if _, dup := out[id]; dup {
			return nil, flagErrorf(flag, "node %q appears twice", id)
		}
		out[id] = v
	}
	return out, nil
}

// FormatMap writes m in the form ParseMap reads, sorted by id.
func FormatMap(m map[string]string) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ",")
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
