package cluster

import (
	"context"
	"errors"
)

// A node's presence, as a Presencer reports it.
var (
	// ErrNodeGone: the node's container (or process) no longer exists: someone removed it.
	ErrNodeGone = errors.New("gone")
	// ErrNodeStopped: the node exists but is not running (it exited, or was stopped).
	ErrNodeStopped = errors.New("not running")
)

// Presencer is a cluster that can say, cheaply and at any time, whether each node still exists and runs. The
// harness asks it during a run, to notice a cluster that vanished under it (removed by another command, its
// processes killed by someone else) and to end the run with an error that says so rather than a verdict.
type Presencer interface {
	// Presence maps every node id to nil (running, or paused), or an error wrapping ErrNodeGone or
	// ErrNodeStopped that says what happened. The error is for a failure to ask (the engine does not answer).
	Presence(ctx context.Context) (map[string]error, error)
}
