package harness

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/nemesis"
)

// TestNemesisProofs is issue #4's first proof of the harness, with fault schedules generated from the seed, as
// `skeptic run` makes them, on each runtime:
//   - the stale-reads flaw under partitions must be found invalid;
//   - the forget-promises flaw under kills of every node must be found invalid;
//   - the correct store under every fault (partition, kill, pause, clock, loss) must be found valid.
//
// A flawed run that comes out valid means the faults did not bite or the checker missed it; a correct run that
// comes out invalid means the store, the faults' healing or the checker is wrong.
func TestNemesisProofs(t *testing.T) {
	cases := []struct {
		name, flaw string
		flags      nemesis.Flags
		limit      time.Duration
		want       Verdict
	}{
		{"stale-reads-partition", "stale-reads", nemesis.Flags{Nemesis: "partition", Interval: 2 * time.Second}, 12 * time.Second, Invalid},
		{"forget-promises-kill", "forget-promises", nemesis.Flags{Nemesis: "kill", Kill: "all", Interval: 2 * time.Second}, 12 * time.Second, Invalid},
		{"correct-all", "", nemesis.Flags{Nemesis: "all", Interval: 2 * time.Second, Loss: 30}, 20 * time.Second, Valid},
	}
	for _, rt := range []string{RuntimeLocal, RuntimeDocker} {
		for _, c := range cases {
			t.Run(rt+"/"+c.name, func(t *testing.T) {
				requireRuntime(t, rt)
				tc := e2eTest(t, rt)
				tc.Flaw = c.flaw
				tc.TimeLimit = Duration(c.limit)
				tc.Recovery = Duration(2 * time.Second)
				opts, err := nemesis.ParseOptions(c.flags)
				require.NoError(t, err)
				tc.Nemesis.Options = opts
				var out bytes.Buffer
				tc.Out = &out
				res, err := Run(context.Background(), tc)
				require.NoError(t, err, "Run; output:\n%s", out.String())
				require.Equal(t, c.want, res.Verdict, "seed %d; replay with skeptic run --config %s/config.json\noutput:\n%s",
					tc.Seed, res.Dir, out.String())
				// The faults really ran: the history holds the nemesis's events, the ones this case asked for.
				evs, err := history.ReadFile(res.Dir + "/" + HistoryFile)
				require.NoError(t, err)
				fs := map[string]int{}
				for _, e := range evs {
					if e.Process == history.NemesisProcess {
						fs[e.F]++
					}
				}
				for _, f := range map[string][]string{
					"stale-reads-partition": {"start-partition", "stop-partition"},
					"forget-promises-kill":  {"kill", "start"},
					"correct-all":           {"start-partition", "kill"},
				}[c.name] {
					assert.NotZero(t, fs[f], "no nemesis %q event in the history; nemesis events: %v", f, fs)
				}
				t.Logf("%s: %s; nemesis events %v", c.name, res.Verdict, fmt.Sprint(fs))
			})
		}
	}
}
