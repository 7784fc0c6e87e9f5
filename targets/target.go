package targets

import (
	"context"
	"fmt"

	"github.com/skeptic-dev/skeptic/history"
)

// Op is one register operation, addressed to one key.
type Op struct {
	// F is "read", "write" or "cas".
	F string
	// Key is the register's key (non-empty).
	Key string
	// Value is the value a write stores.
	Value int64
	// From and To are a cas's expected and new values.
	From, To int64
}

// The register functions.
const (
	FRead  = "read"
	FWrite = "write"
	FCAS   = "cas"
)

// Outcome is how an operation ended, classified as shared/PROTOCOL.md says.
type Outcome struct {
	// Type is history.Ok, history.Fail or history.Info; never history.Invoke.
	Type history.Type
	// Value is what a read returned, or what a cas-mismatch observed; nil means the key had no value. It is
	// meaningful only for an ok read and for a fail whose Error is history.ErrCASMismatch.
	Value *int64
	// Error says why the operation failed or is unknown; history.ErrCASMismatch for a cas that found another value.
	Error string
}

// Client performs operations against one node. A Client is used by one worker at a time.
//
// Do must return within ctx's deadline. Its contract is the soundness of the whole check: it returns history.Fail
// only when the operation certainly did not take effect and never will (connection refused before anything was
// sent, a definite error from the node, or a cas-mismatch), and history.Info whenever the outcome is unknown (a
// timeout, a reset after sending, a malformed answer). It never returns an error: every outcome is an Outcome.
type Client interface {
	Do(ctx context.Context, op Op) Outcome
	Close() error
}

// Capability is an optional admin endpoint of shared/PROTOCOL.md.
type Capability string

// The capabilities a target may declare.
const (
	// CapStatus is GET /admin/status, which names the node's leader.
	CapStatus Capability = "status"
	// CapClock is POST /admin/clock, which skews the node's clock.
	CapClock Capability = "clock"
)

// Node describes one node of a cluster, as a runtime places it.
type Node struct {
	// ID is the node's name: n1, n2, ...
	ID string
	// ClientURL is the base URL clients use, such as http://10.88.0.11:8080 or http://127.0.0.1:40001.
	ClientURL string
}

// NodeArgs are the values a target's command line is made from.
type NodeArgs struct {
	// ID is this node's id.
	ID string
	// IP is the address the other nodes and the clients reach this node at (127.0.0.1 on the local runtime).
	IP string
	// ClientListen and PeerListen are the addresses the node listens on (host:port).
	ClientListen, PeerListen string
	// Peers maps every node id, this one included, to the peer address this node must dial to reach it. On the
	// local runtime these are the harness's link proxies, so they differ from node to node.
	Peers map[string]string
	// PeerClientURLs maps every node id to that node's client URL, for nodes that forward client requests.
	PeerClientURLs map[string]string
	// DataDir is the node's persistent directory; it survives a kill and restart.
	DataDir string
}

// Target is a system the harness can start and test.
type Target interface {
	// Name is the target's name, used in store paths and image tags.
	Name() string
	// Capabilities lists the admin endpoints the target serves.
	Capabilities() []Capability
	// Args returns the arguments (after the program itself) that start one node.
	Args(a NodeArgs) ([]string, error)
	// Env returns extra environment variables (KEY=VALUE) for a node.
	Env(a NodeArgs) ([]string, error)
	// NewClient returns a client bound to node n.
	NewClient(n Node) (Client, error)
}

// Has reports whether t declares capability c.
func Has(t Target, c Capability) bool {
	for _, x := range t.Capabilities() {
		if x == c {
			return true
		}
	}
	return false
}

// RequireCapabilities returns an error naming the first capability in need that t lacks, and what needs it.
func RequireCapabilities(t Target, need map[Capability]string) error {
	for c, who := range need {
		if !Has(t, c) {
			return fmt.Errorf("%s needs the %q capability, which target %s does not declare", who, c, t.Name())
		}
	}
	return nil
}
