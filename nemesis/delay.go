package nemesis

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/skeptic-dev/skeptic/internal/field"
)

// Default values of --delay and --jitter, when neither is given.
const (
	DefaultDelay  = 100 * time.Millisecond
	DefaultJitter = 50 * time.Millisecond
)

// delay holds every packet between nodes for a while: start-delay begins, stop-delay ends it. It is not in
// AllFaults: the Docker runtime cannot apply it on a kernel without sch_netem (DelayProber says so before a
// run).
type delay struct{ linkKind }

var delayFault = &delay{linkKind{FaultDelay}}

func (*delay) Funcs() (begin, end []string) { return []string{FStartDelay}, []string{FStopDelay} }

func (*delay) Defaults(o Options, enabled bool) Options {
	switch {
	case !enabled:
		o.Delay, o.Jitter = 0, 0
	case o.Delay == 0 && o.Jitter == 0:
		o.Delay, o.Jitter = Duration(DefaultDelay), Duration(DefaultJitter)
	}
	return o
}

func (d *delay) Validate(o Options, nodes int) error {
	if o.Delay < 0 {
		return field.Errorf("delay", "must be >= 0, got %s", o.Delay.D())
	}
	if o.Jitter < 0 {
		return field.Errorf("jitter", "must be >= 0, got %s", o.Jitter.D())
	}
	return d.fits(o, nodes)
}

func (*delay) Generate(p Period) Schedule {
	v := LinksValue{Links: allLinks(p.Nodes), Delay: p.Options.Delay, Jitter: p.Options.Jitter}
	return p.startStop(Op{F: FStartDelay, Value: mustJSON(v)}, Op{F: FStopDelay})
}

func (*delay) Check(op Op, nodes []string) error {
	if op.F == FStopDelay {
		return checkNull(op)
	}
	v, err := checkLinks(op, nodes)
	if err != nil {
		return err
	}
	if v.Delay < 0 {
		return field.Errorf("value.delay", "must be >= 0, got %s", v.Delay.D())
	}
	if v.Jitter < 0 {
		return field.Errorf("value.jitter", "must be >= 0, got %s", v.Jitter.D())
	}
	return nil
}

func (*delay) Apply(ctx, octx context.Context, n *Nemesis, op Op) (any, error) {
	if op.F == FStopDelay {
		if n.env.Net == nil {
			return nil, errNo("Net")
		}
		return nil, n.env.Net.Delay(octx, nil, 0, 0)
	}
	var v LinksValue
	if err := decodeStrict(op.Value, &v); err != nil {
		return nil, err
	}
	if n.env.Net == nil {
		return v, errNo("Net")
	}
	return v, n.env.Net.Delay(octx, v.Links, v.Delay.D(), v.Jitter.D())
}

// Preflight refuses a runtime that cannot delay (a DelayProber that says so).
func (*delay) Preflight(net Net) error {
	if p, ok := net.(DelayProber); ok {
		return p.CanDelay()
	}
	return nil
}

func (*delay) Describe(f string, value json.RawMessage) (string, bool) {
	if f == FStopDelay {
		return "delay healed", true
	}
	var v LinksValue
	if json.Unmarshal(value, &v) != nil {
		return "", false
	}
	return fmt.Sprintf("delay %s ± %s on %s", v.Delay.D(), v.Jitter.D(), linksText(v.Links)), true
}
