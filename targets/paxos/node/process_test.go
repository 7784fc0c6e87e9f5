package node

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/targets"
	"github.com/skeptic-dev/skeptic/targets/httpkv"
)

// buildNode builds the node program once per test binary.
var buildNode = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "paxos-node-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "node")
	cmd := exec.Command("go", "build", "-o", bin, "./internal/nodecmd")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

type procCluster struct {
	t     *testing.T
	bin   string
	ids   []string
	args  [][]string
	procs []*exec.Cmd
	logs  []*lockedBuf // the current run of each node
	prev  []string     // what earlier runs of each node wrote
	urls  []string
}

func newProcCluster(t *testing.T, n int) *procCluster {
	bin, err := buildNode()
	require.NoError(t, err)
	addrs := freeAddrs(t, 2*n)
	peers, urls := map[string]string{}, map[string]string{}
	pc := &procCluster{t: t, bin: bin}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("n%d", i+1)
		peers[id], urls[id] = addrs[2*i], "http://"+addrs[2*i+1]
		pc.ids = append(pc.ids, id)
		pc.urls = append(pc.urls, urls[id])
	}
	dir := t.TempDir()
	for i, id := range pc.ids {
		pc.args = append(pc.args, []string{"--id", id, "--peers", FormatMap(peers), "--peer-client-urls", FormatMap(urls),
			"--client-addr", addrs[2*i+1], "--peer-addr", addrs[2*i], "--data", filepath.Join(dir, id)})
		pc.procs = append(pc.procs, nil)
		pc.logs = append(pc.logs, nil)
		pc.prev = append(pc.prev, "")
		pc.start(i)
	}
	t.Cleanup(func() {
		for i, p := range pc.procs {
			if p != nil {
				p.Process.Kill()
				p.Wait()
			}
			if t.Failed() {
				t.Logf("%s stderr:\n%s%s", pc.ids[i], pc.prev[i], pc.logs[i])
			}
		}
	})
	return pc
}

func (pc *procCluster) start(i int) {
	if pc.logs[i] != nil {
		pc.prev[i] += pc.logs[i].String()
	}
	pc.logs[i] = &lockedBuf{}
	cmd := exec.Command(pc.bin, pc.args[i]...)
	cmd.Stderr = pc.logs[i]
	cmd.Stdout = pc.logs[i]
	require.NoError(pc.t, cmd.Start())
	pc.procs[i] = cmd
}

// waitStatus polls node i's /admin/status until ok accepts it.
func (pc *procCluster) waitStatus(i int, timeout time.Duration, ok func(httpkv.StatusInfo) bool) httpkv.StatusInfo {
	pc.t.Helper()
	deadline := time.Now().Add(timeout)
	var st httpkv.StatusInfo
	var err error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		st, err = httpkv.Status(ctx, pc.urls[i])
		cancel()
		if err == nil && ok(st) {
			return st
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.FailNow(pc.t, fmt.Sprintf("%s: status condition not met within %s (last %+v, err %v)", pc.ids[i], timeout, st, err))
	return st
}

func (pc *procCluster) index(id string) int {
	for i, x := range pc.ids {
		if x == id {
			return i
		}
	}
	require.FailNow(pc.t, fmt.Sprintf("unknown node %q", id))
	return -1
}

// TestProcessKillLeader runs three real node processes, SIGKILLs the leader in the middle of a stream of writes,
// and checks: a new leader within a few seconds, no acknowledged write lost, and the killed node, restarted, catches
// up from its own log and its peers.
func TestProcessKillLeader(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs real processes")
	}
	pc := newProcCluster(t, 3)
	lead := pc.index(pc.waitStatus(0, 15*time.Second, func(s httpkv.StatusInfo) bool { return s.Leader != "" }).Leader)
	follower := (lead + 1) % 3
	cl := httpkv.New(pc.urls[follower], httpkv.WithTimeout(3*time.Second))
	defer cl.Close()
	ctx := context.Background()

	acked := map[string]int64{}
	write := func(k string, v int64) targets.Outcome {
		o := cl.Do(ctx, targets.Op{F: targets.FWrite, Key: k, Value: v})
		if o.Type == history.Ok {
			acked[k] = v
		}
		return o
	}
	for i := 0; i < 50; i++ {
		o := write(fmt.Sprintf("k%d", i%10), int64(i))
		require.Equal(t, history.Ok, o.Type, "write %d before the kill: %+v", i, o)
	}
	killedAt := time.Now()
	require.NoError(t, pc.procs[lead].Process.Signal(syscall.SIGKILL))
	pc.procs[lead].Wait()
	pc.procs[lead] = nil
	// Keep writing through the follower: some fail while there is no leader, then they succeed again.
	var okAfter int
	for i := 50; time.Since(killedAt) < 15*time.Second && okAfter < 30; i++ {
		if o := write(fmt.Sprintf("k%d", i%10), int64(i)); o.Type == history.Ok {
			okAfter++
		} else {
			time.Sleep(20 * time.Millisecond)
		}
	}
	newLead := pc.waitStatus(follower, 5*time.Second, func(s httpkv.StatusInfo) bool {
		return s.Leader != "" && s.Leader != pc.ids[lead]
	})
	t.Logf("new leader %s; %d writes acknowledged within %s of the kill", newLead.Leader, okAfter, time.Since(killedAt))
	require.GreaterOrEqual(t, okAfter, 30, "writes that succeeded in 15s after killing the leader")
	for k, v := range acked {
		o := cl.Do(ctx, targets.Op{F: targets.FRead, Key: k})
		require.Equal(t, history.Ok, o.Type, "acknowledged write %s=%d lost: read %+v", k, v, o)
		require.NotNil(t, o.Value, "acknowledged write %s=%d lost: read %+v", k, v, o)
		require.Equal(t, v, *o.Value, "acknowledged write %s=%d lost: read %+v", k, v, o)
	}
	// Restart the killed node on the same data; it must replay its log and catch up to the others.
	pc.start(lead)
	target := pc.waitStatus(follower, 5*time.Second, func(httpkv.StatusInfo) bool { return true })
	var commit float64
	fmt.Sscan(string(target.Extra["commit"]), &commit)
	pc.waitStatus(lead, 10*time.Second, func(s httpkv.StatusInfo) bool {
		var applied float64
		fmt.Sscan(string(s.Extra["applied"]), &applied)
		return applied >= commit && s.Leader != ""
	})
	logs := pc.logs[lead].String()
	require.Contains(t, logs, "recovery: replayed", "restarted node did not replay its log")
	require.NotContains(t, logs, "replayed 0 records", "restarted node did not replay its log")
	// Stop it cleanly: SIGTERM must give a zero exit.
	pc.procs[lead].Process.Signal(syscall.SIGTERM)
	require.NoError(t, pc.procs[lead].Wait(), "SIGTERM: the node must exit 0")
	pc.procs[lead] = nil
}

// TestCommandFlags: bad flags and environment variables give errors naming the flag.
func TestCommandFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--peers", "n1=127.0.0.1:1"}, nil, "--id"},
		{[]string{"--id", "n1", "--peers", "n1"}, nil, "--peers: entry 1"},
		{[]string{"--id", "n1", "--peers", "n2=127.0.0.1:1"}, nil, `--peers: has no entry for this node's id "n1"`},
		{[]string{"--id", "n1", "--peers", "n1=127.0.0.1:0", "--read", "fast"}, nil, "--read"},
		{[]string{"--id", "n1", "--peers", "n1=127.0.0.1:0", "--flaw", "bogus"}, nil, "--flaw"},
		{[]string{"--id", "n1", "--peers", "n1=127.0.0.1:0", "--client-addr", "127.0.0.1:0", "--peer-addr", "127.0.0.1:0"}, nil, "--data"},
		{[]string{"--id", "n1"}, map[string]string{"SKEPTIC_TICK": "soon"}, "--tick (from SKEPTIC_TICK"},
		{[]string{"--id", "n1", "--peers", "n1=127.0.0.1:0", "--client-addr", "127.0.0.1:0", "--peer-addr", "127.0.0.1:0",
			"--data", "/nonexistent-skeptic", "--lease-ticks", "40"}, nil, "--lease-ticks (40) must be below --election-ticks (30)"},
		{nil, map[string]string{"SKEPTIC_NODE_ID": "n1", "SKEPTIC_PEERS": "n1=127.0.0.1:0", "SKEPTIC_CLIENT_ADDR": "127.0.0.1:0",
			"SKEPTIC_PEER_ADDR": "127.0.0.1:0", "SKEPTIC_READ": "sometimes"}, "--read"},
	} {
		for k, v := range tc.env {
			keepEnv(t, k)
			os.Setenv(k, v)
		}
		cmd := Command()
		cmd.SetArgs(tc.args)
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		err := cmd.Execute()
		for k := range tc.env {
			os.Unsetenv(k)
		}
		assert.ErrorContains(t, err, tc.want, "args %v env %v", tc.args, tc.env)
	}
}

// lockedBuf is a buffer a child process's output is copied into while the test reads it.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestProcessRepeatedKills SIGKILLs a node (chosen by a seeded rand) three times while writes of distinct keys
// flow through every node, restarting it each time on its own data. Every write that was acknowledged must be
// readable afterwards with its value; writes with an unknown outcome may or may not be.
func TestProcessRepeatedKills(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs real processes")
	}
	const seed = 7
	rng := rand.New(rand.NewSource(seed))
	pc := newProcCluster(t, 3)
	pc.waitStatus(0, 15*time.Second, func(s httpkv.StatusInfo) bool { return s.Leader != "" })
	var mu sync.Mutex
	acked := map[int64]bool{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var next atomic.Int64
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			cl := httpkv.New(pc.urls[w%3], httpkv.WithTimeout(2*time.Second))
			defer cl.Close()
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := next.Add(1)
				o := cl.Do(context.Background(), targets.Op{F: targets.FWrite, Key: fmt.Sprintf("w%d", i), Value: i})
				if o.Type == history.Ok {
					mu.Lock()
					acked[i] = true
					mu.Unlock()
				} else {
					time.Sleep(20 * time.Millisecond)
				}
			}
		}(w)
	}
	for round := 0; round < 3; round++ {
		time.Sleep(700 * time.Millisecond)
		v := rng.Intn(3)
		t.Logf("round %d: SIGKILL %s (seed %d)", round, pc.ids[v], seed)
		pc.procs[v].Process.Signal(syscall.SIGKILL)
		pc.procs[v].Wait()
		pc.procs[v] = nil
		time.Sleep(300 * time.Millisecond)
		pc.start(v)
	}
	time.Sleep(700 * time.Millisecond)
	close(stop)
	wg.Wait()
	for i := range pc.ids {
		pc.waitStatus(i, 10*time.Second, func(s httpkv.StatusInfo) bool { return s.Leader != "" })
	}
	cl := httpkv.New(pc.urls[0], httpkv.WithTimeout(3*time.Second))
	defer cl.Close()
	mu.Lock()
	defer mu.Unlock()
	require.GreaterOrEqual(t, len(acked), 50, "writes acknowledged in the run; fewer are too few to mean anything")
	for i := range acked {
		var o targets.Outcome
		for try := 0; try < 20; try++ {
			if o = cl.Do(context.Background(), targets.Op{F: targets.FRead, Key: fmt.Sprintf("w%d", i)}); o.Type == history.Ok {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		require.Equal(t, history.Ok, o.Type, "acknowledged write w%d=%d: read %+v (seed %d)", i, i, o, seed)
		require.NotNil(t, o.Value, "acknowledged write w%d=%d: read %+v (seed %d)", i, i, o, seed)
		require.Equal(t, i, *o.Value, "acknowledged write w%d=%d: read %+v (seed %d)", i, i, o, seed)
	}
	t.Logf("%d acknowledged writes of %d attempted all survived 3 kills", len(acked), next.Load())
}
