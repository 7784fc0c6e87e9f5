package nemesis

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Kind returns the fault kind of a schedule function, as --nemesis names it (FStartPartition and FStopPartition
// are "partition", FKill and FStart "kill", ...), "heal" for FHeal, and f itself for anything else.
func Kind(f string) string {
	switch f {
	case FStartPartition, FStopPartition:
		return FaultPartition
	case FKill, FStart:
		return FaultKill
	case FPause, FResume:
		return FaultPause
	case FClockBump, FClockStrobe, FClockSkew, FClockReset:
		return FaultClock
	case FStartLoss, FStopLoss:
		return FaultLoss
	case FStartDelay, FStopDelay:
		return FaultDelay
	}
	return f
}

// Begins reports whether f starts a fault (as opposed to ending one): start-partition, kill, pause, the clock
// functions but clock-reset, start-loss, start-delay.
func Begins(f string) bool {
	switch f {
	case FStartPartition, FKill, FPause, FClockBump, FClockStrobe, FClockSkew, FStartLoss, FStartDelay:
		return true
	}
	return false
}

// Describe says in a few words what a nemesis op (or the event Run recorded for it) does: its strategy, its nodes
// and the leader it aimed at, such as "partition (leader, leader n2): n2 | n1 n3 n4 n5", "kill (majority): n1 n3
// n4" or "loss 30% on 4 links". A value it cannot read is shown as it is.
func Describe(f string, value json.RawMessage) string {
	raw := strings.TrimSpace(string(value))
	if raw == "" || raw == "null" {
		value = nil
	}
	switch f {
	case FStartPartition:
		var v PartitionValue
		if json.Unmarshal(value, &v) != nil {
			break
		}
		s := "partition" + strategyText(v.Strategy, v.Leader)
		if len(v.Grudge) > 0 {
			s += ": " + GrudgeText(v.Grudge)
		}
		return s
	case FStopPartition:
		return "partition healed"
	case FKill, FStart, FPause, FResume:
		var v NodesValue
		if value != nil && json.Unmarshal(value, &v) != nil {
			break
		}
		name := f
		if f == FStart {
			name = "restart" // "start" reads as the start of a fault
		}
		s := name + strategyText(v.Strategy, v.Leader)
		switch {
		case len(v.Nodes) > 0:
			s += ": " + strings.Join(v.Nodes, " ")
		case f == FStart:
			s += ": every node the nemesis killed"
		case f == FResume:
			s += ": every node the nemesis paused"
		}
		return s
	case FClockBump, FClockStrobe, FClockSkew, FClockReset:
		var v ClockValue
		if value != nil && json.Unmarshal(value, &v) != nil {
			break
		}
		s := f + strategyText(v.Strategy, v.Leader)
		var parts []string
		switch {
		case len(v.OffsetsNS) > 0 && f != FClockStrobe:
			for _, n := range keys(v.OffsetsNS) {
				p := fmt.Sprintf("%s %+v", n, time.Duration(v.OffsetsNS[n]))
				if r, ok := v.Rates[n]; ok && r != 1 {
					p += fmt.Sprintf(" ×%g", r)
				}
				parts = append(parts, p)
			}
		case len(v.Deltas) > 0:
			for _, n := range keys(v.Deltas) {
				parts = append(parts, fmt.Sprintf("%s %+v", n, v.Deltas[n].D()))
			}
		case len(v.Rates) > 0:
			for _, n := range keys(v.Rates) {
				parts = append(parts, fmt.Sprintf("%s ×%g", n, v.Rates[n]))
			}
		case f == FClockStrobe:
			parts = append(parts, fmt.Sprintf("%s by %s every %s for %s", strings.Join(v.Nodes, " "), v.Delta.D(), v.Period.D(), v.For.D()))
		case len(v.Nodes) > 0:
			parts = append(parts, strings.Join(v.Nodes, " "))
		case f == FClockReset:
			parts = append(parts, "every node")
		}
		if len(parts) > 0 {
			s += ": " + strings.Join(parts, ", ")
		}
		return s
	case FStartLoss, FStartDelay:
		var v LinksValue
		if json.Unmarshal(value, &v) != nil {
			break
		}
		if f == FStartLoss {
			return fmt.Sprintf("loss %g%% on %s", v.Percent, linksText(v.Links))
		}
		return fmt.Sprintf("delay %s ± %s on %s", v.Delay.D(), v.Jitter.D(), linksText(v.Links))
	case FStopLoss:
		return "loss healed"
	case FStopDelay:
		return "delay healed"
	case FHeal:
		var v HealValue
		if value != nil && json.Unmarshal(value, &v) != nil {
			break
		}
		var parts []string
		if v.Net {
			parts = append(parts, "network")
		}
		if len(v.Resumed) > 0 {
			parts = append(parts, "resumed "+strings.Join(v.Resumed, " "))
		}
		if len(v.Started) > 0 {
			parts = append(parts, "started "+strings.Join(v.Started, " "))
		}
		if len(v.ClocksReset) > 0 {
			parts = append(parts, "clocks of "+strings.Join(v.ClocksReset, " "))
		}
		if len(parts) == 0 {
			return "heal: nothing to undo"
		}
		return "heal: " + strings.Join(parts, ", ")
	}
	if value == nil {
		return f
	}
	return f + " " + raw
}

func strategyText(strategy, leader string) string {
	switch {
	case strategy == "" && leader == "":
		return ""
	case leader == "":
		return " (" + strategy + ")"
	case strategy == "":
		return " (leader " + leader + ")"
	}
	return fmt.Sprintf(" (%s, leader %s)", strategy, leader)
}

func linksText(ls []Link) string {
	if len(ls) <= 3 {
		parts := make([]string, len(ls))
		for i, l := range ls {
			parts[i] = l.From + "→" + l.To
		}
		return strings.Join(parts, ", ")
	}
	return fmt.Sprintf("%d links", len(ls))
}

// GrudgeText shows a grudge as its parts when it splits the nodes into parts cut from each other both ways
// ("n2 | n1 n3 n4 n5"; a bridge, which every part hears, is not in the grudge), and otherwise as who drops whom
// ("n1 drops n3 n4; n2 drops n4 n5").
func GrudgeText(g Grudge) string {
	all := map[string]bool{}
	for a, bs := range g {
		all[a] = true
		for _, b := range bs {
			all[b] = true
		}
	}
	groups := map[string][]string{} // drop set -> nodes
	for n := range all {
		d := append([]string(nil), g[n]...)
		sort.Strings(d)
		k := strings.Join(d, " ")
		groups[k] = append(groups[k], n)
	}
	var parts []string
	complete := true
	for k, ns := range groups {
		sort.Strings(ns)
		if k == "" {
			continue // heard by every part: a bridge (not in the grudge unless it drops nothing but is dropped)
		}
		var others []string
		in := map[string]bool{}
		for _, n := range ns {
			in[n] = true
		}
		for n := range all {
			if !in[n] && len(g[n]) > 0 {
				others = append(others, n)
			}
		}
		sort.Strings(others)
		if strings.Join(others, " ") != k {
			complete = false
		}
		parts = append(parts, strings.Join(ns, " "))
	}
	if complete && len(parts) >= 2 {
		sort.Slice(parts, func(i, j int) bool {
			if len(parts[i]) != len(parts[j]) {
				return len(parts[i]) < len(parts[j])
			}
			return parts[i] < parts[j]
		})
		return strings.Join(parts, " | ")
	}
	var out []string
	for _, a := range keys(g) {
		if len(g[a]) > 0 {
			d := append([]string(nil), g[a]...)
			sort.Strings(d)
			out = append(out, a+" drops "+strings.Join(d, " "))
		}
	}
	return strings.Join(out, "; ")
}

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}
