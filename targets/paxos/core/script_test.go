package core

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of testdata/*.txt scenario scripts")

// TestScripts runs the scenario scripts in testdata, in the manner of cockroachdb/datadriven as etcd raft uses
// it: each block is a command, a "----" line and the output it must produce (the messages delivered, the slots
// each node applied, answers). Run with -rewrite to regenerate the outputs after a deliberate change, then read
// the diff.
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) { runScript(t, f) })
	}
}

type block struct {
	comments  []string // "#" lines before the command, kept by -rewrite
	cmd, want string
}

func parseScript(t *testing.T, text string) []block {
	var out []block
	var comments []string
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if l == "" {
			continue
		}
		if strings.HasPrefix(l, "#") {
			comments = append(comments, l)
			continue
		}
		require.Less(t, i+1, len(lines), "command %q without ----", l)
		require.Equal(t, "----", strings.TrimSpace(lines[i+1]), "line %d: want ---- after %q", i+2, l)
		i += 2
		var want []string
		for ; i < len(lines) && lines[i] != ""; i++ {
			want = append(want, lines[i])
		}
		out = append(out, block{comments: comments, cmd: l, want: strings.Join(want, "\n")})
		comments = nil
	}
	return out
}

func runScript(t *testing.T, path string) {
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	blocks := parseScript(t, string(data))
	var c *cluster
	var out strings.Builder
	for _, b := range blocks {
		got := runCommandRecover(t, &c, b.cmd)
		if got == "" {
			got = "ok"
		}
		for _, cm := range b.comments {
			fmt.Fprintln(&out, cm)
		}
		fmt.Fprintf(&out, "%s\n----\n%s\n\n", b.cmd, got)
		if !*rewrite {
			require.Equal(t, b.want, got, "%s: command %q", path, b.cmd)
		}
	}
	if *rewrite {
		require.NoError(t, os.WriteFile(path, []byte(out.String()), 0o644))
	}
}

// runCommandRecover runs one command; a core panic becomes the command's output ("panic: ..." after whatever
// was delivered before it), so a script that reaches a crash fails on a readable diff instead of killing the test
// binary.
func runCommandRecover(t *testing.T, cp **cluster, line string) (out string) {
	defer func() {
		if r := recover(); r != nil {
			out = strings.TrimRight((*cp).log.String()+fmt.Sprintf("panic: %v", r), "\n")
		}
	}()
	return runCommand(t, cp, line)
}

func runCommand(t *testing.T, cp **cluster, line string) string {
	f := strings.Fields(line)
	args := map[string]string{}
	var pos []string
	for _, a := range f[1:] {
		if k, v, ok := strings.Cut(a, "="); ok {
			args[k] = v
		} else {
			pos = append(pos, a)
		}
	}
	if f[0] == "cluster" {
		size, err := strconv.Atoi(args["n"])
		require.NoError(t, err)
		*cp = newCluster(t, size, func(cfg *Config) {
			if fl := args["flaw"]; fl != "" {
				cfg.Flaw = Flaw(fl)
			}
		})
		(*cp).verbose = true
		return ""
	}
	c := *cp
	require.NotNil(t, c, "the script must start with cluster")
	c.log.Reset()
	num := func(s string) int {
		v, err := strconv.Atoi(s)
		require.NoError(t, err)
		return v
	}
	switch f[0] {
	case "campaign":
		c.campaign(pos[0])
	case "propose":
		nd := c.nodes[pos[0]]
		var cmds []Command
		for i, d := range pos[1:] {
			cmds = append(cmds, cmd("c", uint64(len(c.applied[pos[0]])+i+1), d))
		}
		if err := nd.Propose(cmds...); err != nil {
			fmt.Fprintf(&c.log, "error: %v (leader: %q)\n", err, nd.Status().Leader)
		}
		c.deliver()
	case "read":
		if err := c.nodes[pos[0]].ReadIndex(uint64(num(pos[1]))); err != nil {
			fmt.Fprintf(&c.log, "error: %v\n", err)
		}
		c.deliver()
	case "tick":
		c.tick(num(pos[0]))
	case "silence":
		// The named nodes stop hearing from their leader: their clocks move past the election timeout.
		for _, id := range pos {
			c.nodes[id].now += 2 * int64(c.nodes[id].cfg.ElectionTicks)
		}
	case "cut":
		// cut a b: messages from a to b are lost (one way); cut a b both: both ways.
		c.cut[[2]NodeID{pos[0], pos[1]}] = true
		if len(pos) > 2 && pos[2] == "both" {
			c.cut[[2]NodeID{pos[1], pos[0]}] = true
		}
	case "uncut":
		delete(c.cut, [2]NodeID{pos[0], pos[1]})
		if len(pos) > 2 && pos[2] == "both" {
			delete(c.cut, [2]NodeID{pos[1], pos[0]})
		}
	case "isolate":
		c.isolate(pos[0])
	case "heal":
		c.heal()
	case "crash":
		c.crash(pos[0])
	case "restart":
		c.restart(pos[0])
		c.deliver()
	case "state":
		// state <node> promise <ballot> | accept <slot> <ballot> <value> | chosen <slot> <value>: the node restarts
		// with this record added to its log, as if it had persisted it earlier (what an acceptor holds after ballots
		// that came and went), so a script can set up several acceptors, ballots and slots at once. Its clock
		// starts an election timeout in, like every node of a new cluster.
		id := pos[0]
		r := Record{}
		switch pos[1] {
		case "promise":
			r = Record{Kind: RecPromise, Ballot: parseBallot(t, pos[2])}
		case "accept":
			v := Value{Commands: []Command{cmd("s", uint64(num(pos[2])), pos[4])}}
			r = Record{Kind: RecAccept, Slot: uint64(num(pos[2])), Ballot: parseBallot(t, pos[3]), Value: &v}
		case "chosen":
			v := Value{Commands: []Command{cmd("s", uint64(num(pos[2])), pos[3])}}
			r = Record{Kind: RecChosen, Slot: uint64(num(pos[2])), Value: &v}
		default:
			require.FailNow(t, fmt.Sprintf("state %s: unknown record %q", id, pos[1]))
		}
		c.disk[id] = append(c.disk[id], r)
		c.restart(id)
		nd := c.nodes[id]
		nd.now = int64(nd.cfg.ElectionTicks)
		c.deliver()
	case "compact":
		nd := c.nodes[pos[0]]
		nd.Compact(uint64(num(pos[1])), []byte("snap"))
		c.deliver()
	case "accepts":
		// accepts <node>...: each node's accepted values, slot by slot, with their ballots.
		for _, id := range pos {
			nd := c.nodes[id]
			var parts []string
			for _, sl := range sortedKeys(nd.accepts) {
				a := nd.accepts[sl]
				parts = append(parts, fmt.Sprintf("%d:%s@%v", sl, valueString(a.value), a.ballot))
			}
			fmt.Fprintf(&c.log, "%s: %s\n", id, strings.Join(parts, " "))
		}
	case "status":
		for _, id := range pos {
			st := c.nodes[id].Status()
			fmt.Fprintf(&c.log, "%s: %s leader=%q promised=%v commit=%d applied=%d snapshot=%d\n",
				id, c.nodes[id].Role(), st.Leader, st.Promised, st.Commit, st.Applied, st.Snapshot)
		}
	case "log":
		for _, id := range pos {
			fmt.Fprintf(&c.log, "%s: %s\n", id, strings.Join(c.values(id), " "))
		}
	default:
		require.FailNow(t, fmt.Sprintf("unknown command %q", f[0]))
	}
	return strings.TrimRight(c.log.String(), "\n")
}

// parseBallot reads a ballot written as round.node, e.g. 3.n2.
func parseBallot(t *testing.T, s string) Ballot {
	r, n, ok := strings.Cut(s, ".")
	require.True(t, ok, "ballot %q: want round.node", s)
	round, err := strconv.ParseUint(r, 10, 64)
	require.NoError(t, err, "ballot %q", s)
	return Ballot{Round: round, Node: n}
}
