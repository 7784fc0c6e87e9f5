package docker

import (
	"context"
	"fmt"
	"time"

	"github.com/skeptic-dev/skeptic/nemesis"
)

// pendingNet is the Net of a cluster whose network faults are not wired: every fault fails with
// nemesis.ErrUnsupported, and Heal, with no rule to remove, succeeds.
type pendingNet struct{}

var errNoNet = fmt.Errorf("docker runtime: network faults (nemesis/nft) are not wired into this cluster: %w", nemesis.ErrUnsupported)

func (pendingNet) Partition(context.Context, nemesis.Grudge) error { return errNoNet }

func (pendingNet) Loss(context.Context, []nemesis.Link, float64) error { return errNoNet }

func (pendingNet) Delay(context.Context, []nemesis.Link, time.Duration, time.Duration) error {
	return errNoNet
}

func (pendingNet) Heal(context.Context) error { return nil }
