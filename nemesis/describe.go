package nemesis

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Describe says in a few words what a nemesis op (or the event Run recorded for it) does: its strategy, its nodes
// and the leader it aimed at, such as "partition (leader, leader n2): n2 | n1 n3 n4 n5", "kill (majority): n1 n3
// n4" or "loss 30% on 4 links". A value it cannot read is shown as it is.
func Describe(f string, value json.RawMessage) string {
	raw := strings.TrimSpace(string(value))
	if raw == "" || raw == "null" {
		value = nil
	}
	if k, _ := faultOf(f); k != nil {
		if s, ok := k.Describe(f, value); ok {
			return s
		}
	} else if f == FHeal {
		if s, ok := describeHeal(value); ok {
			return s
		}
	}
	if value == nil {
		return f
	}
	return f + " " + raw
}

// describeHeal is Describe of the event HealAll records.
func describeHeal(value json.RawMessage) (string, bool) {
	var v HealValue
	if value != nil && json.Unmarshal(value, &v) != nil {
		return "", false
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
		return "heal: nothing to undo", true
	}
	return "heal: " + strings.Join(parts, ", "), true
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
