package core_test

import (
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/targets/paxos/core"
	"github.com/skeptic-dev/skeptic/targets/paxos/sim"
)

// mutationSeeds is the most seeds the simulation may take to catch one mutation: the seeds TestSim runs on the
// correct store by default are fewer, but a mutation must show within 2000.
const mutationSeeds = 2000

// caughtAt is the first seed (searching from 1) on which the simulation caught each mutation, as the last full
// search (-mutation-search) found it. By default the test checks each mutation on that seed alone, which keeps
// `go test ./targets/paxos/...` within its time budget; when a change to the simulation moves the schedules and
// the seed no longer catches it, the test searches from seed 1 again and asks for this table to be updated.
var caughtAt = map[string]int{
	"lowest-ballot": 163, "no-ballot-compare": 802, "unpersisted-promise": 302, "long-lease": 541,
	"lease-from-ack": 127, "stale-round": 59, "wal-no-checksum": 290, "no-step-down-on-snapshot": 131,
}

// mutationShows is what the failure a mutation causes must say, where the mutation has one expected effect: with
// the stale-leader fix reverted, a stale leader that installed a snapshot past its next slot panics on its next
// proposal (issue 10), and the simulation reports the node's panic as the seed's failure.
var mutationShows = map[string]string{
	"no-step-down-on-snapshot": "at or below snapshot",
}

// mutationReadMode is the read mode a mutation can only show in (the lease mutations in lease mode, the stale
// confirmation round in index mode); the others run in the mode each seed picks.
var mutationReadMode = map[string]core.ReadMode{
	"long-lease": core.ReadLease, "lease-from-ack": core.ReadLease, "stale-round": core.ReadIndex,
}

// mutationNodes is the cluster size a mutation runs on, where it is not drawn from the seed: a forgotten promise
// (unpersisted-promise) decides a majority most often in a 3-node cluster, where the acceptor that forgets is one
// of the two that make every majority with the old or the new leader (10 of seeds 1 to 2,000 catch it with 3
// nodes, none with 5).
var mutationNodes = map[string]int{"unpersisted-promise": 3}

var (
	mutationSearch    = flag.Bool("mutation-search", false, "TestMutationScore searches every mutation from seed 1 instead of checking the recorded seeds")
	mutationSeedsFlag = flag.Int("mutation-seeds", 0, "with -mutation-search: seeds each mutation gets (default 2000)")
)

// TestMutationScore switches on each mutation of the correct store (targets/paxos/internal/mutation) in turn and
// runs the simulation until a seed fails (a core panic, an agreement violation, a node that cannot restart, or a
// history Porcupine finds not linearizable); the same seed without the mutation must pass, so the mutation is
// what broke. It logs the seeds each mutation needed and the score, and fails if a mutation survives
// mutationSeeds seeds.
func TestMutationScore(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the simulation for every mutation")
	}
	needed := map[string]int{}
	budget := map[string]int{}
	for _, m := range core.Mutations() {
		budget[m] = mutationSeeds
		if *mutationSearch && *mutationSeedsFlag > 0 {
			budget[m] = *mutationSeedsFlag
		}
		t.Run(m, func(t *testing.T) {
			restore, err := core.SetMutation(m)
			require.NoError(t, err)
			defer restore()
			opts := func(seed int) sim.Options {
				return sim.Options{Seed: int64(seed), ReadMode: mutationReadMode[m], Nodes: mutationNodes[m]}
			}
			caught := func(seed int) string {
				why, _, _ := sim.Check(opts(seed), 10*time.Second)
				if want := mutationShows[m]; why != "" && !strings.Contains(why, want) {
					t.Logf("mutation %s: seed %d fails, but not as expected (%q): %s", m, seed, want, firstLine(why))
					return ""
				}
				return why
			}
			seed, why := 0, ""
			if at, ok := caughtAt[m]; ok && !*mutationSearch {
				if why = caught(at); why != "" {
					seed = at
				} else {
					t.Logf("mutation %s is no longer caught on its recorded seed %d (the simulation's schedules moved): searching from seed 1; update caughtAt", m, at)
				}
			}
			for i := 1; seed == 0 && i <= budget[m]; i++ {
				if why = caught(i); why != "" {
					seed = i
				}
			}
			if seed == 0 {
				assert.Fail(t, fmt.Sprintf("mutation %s survived %d seeds", m, budget[m]))
				return
			}
			restore()
			ctl, ctlTimedOut, _ := sim.Check(opts(seed), 10*time.Second)
			require.Empty(t, ctl, "seed %d fails without mutation %s too", seed, m)
			require.False(t, ctlTimedOut, "seed %d: the checker gave up on the control run", seed)
			needed[m] = seed
			t.Logf("mutation %s caught on seed %d: %s (replay: go test ./targets/paxos/core -run 'TestMutationScore/%s$' -v)", m, seed, firstLine(why), m)
			if at, ok := caughtAt[m]; *mutationSearch && (!ok || at != seed) {
				t.Logf("caughtAt[%q] should be %d (recorded: %d)", m, seed, at)
			}
		})
	}
	var parts []string
	for _, m := range core.Mutations() {
		if s, ok := needed[m]; ok {
			parts = append(parts, fmt.Sprintf("%s %d", m, s))
		} else {
			parts = append(parts, fmt.Sprintf("%s survived %d", m, budget[m]))
		}
	}
	t.Logf("mutation score: %d/%d caught within %d seeds; seeds needed: %s", len(needed), len(core.Mutations()), mutationSeeds, strings.Join(parts, ", "))
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// TestSetMutationRejectsUnknown: a misspelt mutation is an error, not a silent no-op that would score as caught.
func TestSetMutationRejectsUnknown(t *testing.T) {
	_, err := core.SetMutation("lowest-balot")
	require.ErrorContains(t, err, "unknown mutation")
}
