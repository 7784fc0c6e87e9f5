package nemesis

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/skeptic-dev/skeptic/internal/field"
	"github.com/skeptic-dev/skeptic/targets"
)

// DefaultLossPercent is --loss when not given.
const DefaultLossPercent = 30

// loss drops a share of the packets on every link between nodes: start-loss begins, stop-loss ends it.
type loss struct{ linkKind }

var lossFault = &loss{linkKind{FaultLoss}}

func (*loss) Funcs() (begin, end []string) { return []string{FStartLoss}, []string{FStopLoss} }

func (*loss) Defaults(o Options, enabled bool) Options {
	switch {
	case !enabled:
		o.LossPercent = 0
	case o.LossPercent == 0:
		o.LossPercent = DefaultLossPercent
	}
	return o
}

func (l *loss) Validate(o Options, nodes int) error {
	if math.IsNaN(o.LossPercent) || o.LossPercent < 0 || o.LossPercent > 100 {
		return field.Errorf("loss_percent", "must be a percentage between 0 and 100, got %v", o.LossPercent)
	}
	return l.fits(o, nodes)
}

func (*loss) Generate(p Period) Schedule {
	v := LinksValue{Links: allLinks(p.Nodes), Percent: p.Options.LossPercent}
	return p.startStop(Op{F: FStartLoss, Value: mustJSON(v)}, Op{F: FStopLoss})
}

func (*loss) Check(op Op, nodes []string) error {
	if op.F == FStopLoss {
		return checkNull(op)
	}
	v, err := checkLinks(op, nodes)
	if err != nil {
		return err
	}
	if !(v.Percent > 0) || v.Percent > 100 {
		return field.Errorf("value.percent", "must be in (0, 100], got %v", v.Percent)
	}
	return nil
}

func (*loss) Apply(ctx, octx context.Context, n *Nemesis, op Op) (any, error) {
	if op.F == FStopLoss {
		if n.env.Net == nil {
			return nil, errNo("Net")
		}
		return nil, n.env.Net.Loss(octx, nil, 0)
	}
	var v LinksValue
	if err := decodeStrict(op.Value, &v); err != nil {
		return nil, err
	}
	if n.env.Net == nil {
		return v, errNo("Net")
	}
	return v, n.env.Net.Loss(octx, v.Links, v.Percent)
}

func (*loss) Describe(f string, value json.RawMessage) (string, bool) {
	if f == FStopLoss {
		return "loss healed", true
	}
	var v LinksValue
	if json.Unmarshal(value, &v) != nil {
		return "", false
	}
	return fmt.Sprintf("loss %g%% on %s", v.Percent, linksText(v.Links)), true
}

// linkKind is the part of a Fault that loss and delay share: no strategies, every link between nodes, and a
// cluster of at least two nodes.
type linkKind struct{ kind string }

func (k linkKind) Kind() string                                { return k.kind }
func (linkKind) Strategies(Options) []string                   { return nil }
func (linkKind) WithLeader(o Options) Options                  { return o }
func (linkKind) Needs(f, strategy string) []targets.Capability { return nil }

// fits refuses a cluster of fewer than two nodes, which has no link, when the kind is enabled.
func (k linkKind) fits(o Options, nodes int) error {
	if nodes > 0 && nodes < 2 && slices.Contains(o.Faults, k.kind) {
		return field.Errorf("faults", "%s needs at least 2 nodes, the cluster has %d", k.kind, nodes)
	}
	return nil
}

// checkLinks decodes and checks the value of start-loss or start-delay.
func checkLinks(op Op, nodes []string) (LinksValue, error) {
	var v LinksValue
	if err := decodeStrict(op.Value, &v); err != nil {
		return v, err
	}
	for _, l := range v.Links {
		if err := knownNodes("value.links", nodes, l.From, l.To); err != nil {
			return v, err
		}
		if l.From == l.To {
			return v, field.Errorf("value.links", "%s->%s links a node to itself", l.From, l.To)
		}
	}
	return v, nil
}

func allLinks(nodes []string) []Link {
	var l []Link
	for _, a := range nodes {
		for _, b := range nodes {
			if a != b {
				l = append(l, Link{From: a, To: b})
			}
		}
	}
	return l
}
