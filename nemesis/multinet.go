package nemesis

import (
	"context"
	"errors"
	"time"
)

// MultiNet is a Net that applies every call to each of its Nets, in order, and reports every failure. A runtime
// whose nodes talk over several paths uses it: the local runtime can put one netproxy.Mesh between the nodes'
// peer ports and another between their client ports (which the nodes use to forward requests), so that a
// partition cuts both.
type MultiNet []Net

var _ Net = MultiNet(nil)

// Partition applies g to every Net.
func (m MultiNet) Partition(ctx context.Context, g Grudge) error {
	return m.each(func(n Net) error { return n.Partition(ctx, g) })
}

// Loss applies the loss to every Net.
func (m MultiNet) Loss(ctx context.Context, links []Link, percent float64) error {
	return m.each(func(n Net) error { return n.Loss(ctx, links, percent) })
}

// Delay applies the delay to every Net.
func (m MultiNet) Delay(ctx context.Context, links []Link, d, jitter time.Duration) error {
	return m.each(func(n Net) error { return n.Delay(ctx, links, d, jitter) })
}

// Heal heals every Net, even after one fails.
func (m MultiNet) Heal(ctx context.Context) error {
	return m.each(func(n Net) error { return n.Heal(ctx) })
}

func (m MultiNet) each(fn func(Net) error) error {
	var errs []error
	for _, n := range m {
		errs = append(errs, fn(n))
	}
	return errors.Join(errs...)
}
