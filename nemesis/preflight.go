package nemesis

// What a schedule needs before a run starts: capabilities of the target, and what the runtime's Net can do.

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/skeptic-dev/skeptic/targets"
)

// Needs lists the target capabilities the schedule's ops need, each with the first op that needs it, in the
// form targets.RequireCapabilities takes.
func (s Schedule) Needs() map[targets.Capability]string {
	need := map[targets.Capability]string{}
	for i, op := range s {
		f, _ := faultOf(op.F)
		if f == nil {
			continue
		}
		var v struct {
			Strategy string `json:"strategy"`
		}
		_ = json.Unmarshal(op.Value, &v)
		always := f.Needs(op.F, "")
		for _, c := range f.Needs(op.F, v.Strategy) {
			if _, ok := need[c]; ok {
				continue
			}
			why := ""
			if !slices.Contains(always, c) {
				why = ", strategy " + v.Strategy // the strategy needs it, not the function
			}
			need[c] = fmt.Sprintf("the schedule's op %d (at %s, %s%s)", i, op.At.D(), op.F, why)
		}
	}
	return need
}

// DelayProber is implemented by a Net that can tell, before a run, whether Delay will work (nft.Net on a kernel
// without sch_netem cannot).
type DelayProber interface {
	// CanDelay returns nil, or an error wrapping ErrUnsupported saying why delay cannot be applied.
	CanDelay() error
}

// preflighter is a Fault that can tell, before a run, whether a runtime's Net can apply it (delay).
type preflighter interface {
	Preflight(net Net) error
}

// Preflight returns an error when net cannot apply a fault the schedule contains, so the harness can refuse the
// run before it starts.
func (s Schedule) Preflight(net Net) error {
	asked := map[Fault]bool{}
	for i, op := range s {
		f, begins := faultOf(op.F)
		p, ok := f.(preflighter)
		if !ok || !begins || asked[f] {
			continue
		}
		asked[f] = true
		if err := p.Preflight(net); err != nil {
			return fmt.Errorf("the schedule's op %d (at %s, %s): %w", i, op.At.D(), op.F, err)
		}
	}
	return nil
}
