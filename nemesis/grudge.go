package nemesis

import (
	"math/rand/v2"
	"slices"
	"sort"
)

// The grudges of Jepsen's partition strategies. Each is a pure function of the node list and the random source.

// Complete returns the grudge that cuts every node of each part from every node of every other part, both ways.
func Complete(parts ...[]string) Grudge {
	g := Grudge{}
	for i, p := range parts {
		for _, a := range p {
			for j, q := range parts {
				if i != j {
					g[a] = append(g[a], q...)
				}
			}
		}
	}
	for a := range g {
		sort.Strings(g[a])
	}
	return g
}

// Isolate returns the grudge that cuts node x off from the rest of nodes, both ways.
func Isolate(nodes []string, x string) Grudge {
	return Complete([]string{x}, without(nodes, x))
}

// OneWay returns the grudge in which x drops every other node's packets, while they still receive x's.
func OneWay(nodes []string, x string) Grudge {
	return Grudge{x: without(nodes, x)}
}

// Majority splits nodes at random into a minority of len/2 and the majority, cut from each other both ways.
func Majority(nodes []string, r *rand.Rand) Grudge {
	s := shuffled(nodes, r)
	k := len(s) / 2
	return Complete(sorted(s[:k]), sorted(s[k:]))
}

// MajoritiesRing arranges nodes in a random ring; each node hears the majority-sized window of the ring centred
// on it and drops the others, so every node hears a majority and no two hear the same one (Jepsen's
// majorities-ring). With 3 nodes the cuts are one-way, around the ring.
func MajoritiesRing(nodes []string, r *rand.Rand) Grudge {
	s := shuffled(nodes, r)
	n := len(s)
	m := n/2 + 1
	g := Grudge{}
	for i := range s {
		window := map[string]bool{}
		for k := range m {
			window[s[(i+k)%n]] = true
		}
		centre := s[(i+m/2)%n]
		for _, x := range s {
			if !window[x] {
				g[centre] = append(g[centre], x)
			}
		}
		sort.Strings(g[centre])
	}
	return g
}

// Bridge cuts nodes at random into two halves, and keeps one node, the bridge, connected to both (Jepsen's
// bridge). It needs at least 3 nodes.
func Bridge(nodes []string, r *rand.Rand) Grudge {
	s := shuffled(nodes, r)
	k := len(s) / 2
	// s[:k] and s[k+1:] are the halves when len is odd; s[k] is the bridge. With an even count the second half
	// is one shorter.
	left, right := s[:k], s[k+1:]
	return Complete(sorted(left), sorted(right))
}

func without(nodes []string, x string) []string {
	var out []string
	for _, n := range nodes {
		if n != x {
			out = append(out, n)
		}
	}
	return out
}

func shuffled(nodes []string, r *rand.Rand) []string {
	s := slices.Clone(nodes)
	r.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
	return s
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}
