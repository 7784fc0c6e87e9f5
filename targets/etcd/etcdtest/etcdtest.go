// Package etcdtest starts real etcd clusters of local processes on loopback for tests: free ports, a temporary
// data directory per member, every process killed when the test ends.
//
// The etcd program is $SKEPTIC_ETCD, else etcd on $PATH (Debian's etcd-server installs /usr/bin/etcd, which
// .ci/run installs). Without it a test skips, unless SKEPTIC_REQUIRE_DOCKER=1 (as in CI), where it fails.
package etcdtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skeptic-dev/skeptic/targets/etcd"
)

// Binary returns the etcd program's path, skipping (or, with SKEPTIC_REQUIRE_DOCKER=1, failing) the test when
// there is none.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("SKEPTIC_ETCD"); p != "" {
		return p
	}
	p, err := exec.LookPath("etcd")
	if err != nil {
		if os.Getenv("SKEPTIC_REQUIRE_DOCKER") == "1" {
			t.Fatalf("SKEPTIC_REQUIRE_DOCKER=1 but no etcd program: %v (apt-get install etcd-server, or set SKEPTIC_ETCD)", err)
		}
		t.Skipf("no etcd program: %v (apt-get install etcd-server, or set SKEPTIC_ETCD)", err)
	}
	return p
}

// Member is one running (or killed) member.
type Member struct {
	etcd.Member
	// Endpoint is the client endpoint, host:port.
	Endpoint string

	t      testing.TB
	bin    string
	args   []string
	log    string
	cmd    *exec.Cmd
	done   chan struct{}
	killed bool
}

// Cluster is a running test cluster.
type Cluster struct {
	Members []*Member
	// Ready is how long the members took, from the first start to every member naming a leader.
	Ready time.Duration
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start starts an n-member cluster and waits (up to 30s) until every member names the same leader. Every
// member is killed when the test ends. A start that loses a port to another process is retried on new ports.
func Start(t testing.TB, n int) *Cluster {
	t.Helper()
	bin := Binary(t)
	var last error
	for range 3 {
		c, err := start(t, bin, n)
		if err == nil {
			return c
		}
		last = err
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	t.Fatalf("starting a %d-member etcd cluster: %v", n, last)
	return nil
}

func start(t testing.TB, bin string, n int) (*Cluster, error) {
	dir := t.TempDir()
	tok := make([]byte, 6)
	_, _ = rand.Read(tok)
	token := "skeptic-test-" + hex.EncodeToString(tok)
	var all []etcd.Member
	for i := range n {
		all = append(all, etcd.Member{
			Name:      fmt.Sprintf("n%d", i+1),
			ClientURL: fmt.Sprintf("http://127.0.0.1:%d", freePort(t)),
			PeerURL:   fmt.Sprintf("http://127.0.0.1:%d", freePort(t)),
			DataDir:   filepath.Join(dir, fmt.Sprintf("n%d", i+1)),
		})
	}
	c := &Cluster{}
	t0 := time.Now()
	for _, m := range all {
		args, err := etcd.Args(m, all, token)
		if err != nil {
			return nil, err
		}
		mem := &Member{Member: m, Endpoint: strings.TrimPrefix(m.ClientURL, "http://"), bin: bin, args: args,
			log: filepath.Join(dir, m.Name+".log")}
		if err := mem.Start(); err != nil {
			c.killAll()
			return nil, err
		}
		c.Members = append(c.Members, mem)
	}
	t.Cleanup(c.killAll)
	if err := c.WaitLeader(30 * time.Second); err != nil {
		c.killAll()
		return nil, err
	}
	c.Ready = time.Since(t0)
	return c, nil
}

func (c *Cluster) killAll() {
	for _, m := range c.Members {
		m.Kill()
	}
}

// WaitLeader waits until every running member names the same leader, and returns an error with the members'
// logs' tails if that does not happen within d or if a member exits on its own.
func (c *Cluster) WaitLeader(d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		for _, m := range c.Members {
			if err := m.exitedOnItsOwn(); err != nil {
				return fmt.Errorf("%v\n%s", err, c.logs())
			}
		}
		why := c.leaderProblem()
		if why == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no common leader after %s: %s\n%s", d, why, c.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// leaderProblem returns why the running members do not all name one leader, or "".
func (c *Cluster) leaderProblem() string {
	var leader uint64
	for _, m := range c.Members {
		if !m.Running() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		st, err := etcd.Status(ctx, m.Endpoint)
		cancel()
		switch {
		case err != nil:
			return err.Error()
		case st.Leader == 0:
			return m.Name + " has no leader"
		case leader != 0 && st.Leader != leader:
			return fmt.Sprintf("%s names leader %x, another member %x", m.Name, st.Leader, leader)
		}
		leader = st.Leader
	}
	return ""
}

// Leader returns the member every running member names as leader, waiting up to d for them to agree.
func (c *Cluster) Leader(d time.Duration) (*Member, error) {
	if err := c.WaitLeader(d); err != nil {
		return nil, err
	}
	for _, m := range c.Members {
		if !m.Running() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		st, err := etcd.Status(ctx, m.Endpoint)
		cancel()
		if err != nil {
			return nil, err
		}
		for _, l := range c.Members {
			if l.Name == st.LeaderName {
				return l, nil
			}
		}
		return nil, fmt.Errorf("%s names leader %x (%q), not a member of this cluster", m.Name, st.Leader, st.LeaderName)
	}
	return nil, fmt.Errorf("no member is running")
}

// logs returns the tail of every member's log.
func (c *Cluster) logs() string {
	var b strings.Builder
	for _, m := range c.Members {
		out, _ := os.ReadFile(m.log)
		if len(out) > 2000 {
			out = out[len(out)-2000:]
		}
		fmt.Fprintf(&b, "--- %s (%s):\n%s\n", m.Name, m.log, out)
	}
	return b.String()
}

// Start starts the member's process (again, after Kill: on the same data directory).
func (m *Member) Start() error {
	if m.Running() {
		return fmt.Errorf("%s is already running", m.Name)
	}
	f, err := os.OpenFile(m.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(m.bin, m.args...)
	cmd.Stdout, cmd.Stderr = f, f
	// The member dies with the test process, even when that is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("starting %s: %w", m.Name, err)
	}
	m.cmd, m.done, m.killed = cmd, make(chan struct{}), false
	done := m.done
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(done)
	}()
	return nil
}

// Running reports whether the member's process is running (or stopped by Stop).
func (m *Member) Running() bool {
	if m.done == nil {
		return false
	}
	select {
	case <-m.done:
		return false
	default:
		return true
	}
}

// exitedOnItsOwn returns an error if the member's process ended without Kill.
func (m *Member) exitedOnItsOwn() error {
	if m.done == nil || m.killed || m.Running() {
		return nil
	}
	return fmt.Errorf("etcd member %s exited: %v", m.Name, m.cmd.ProcessState)
}

// Kill kills the member with SIGKILL and waits until it is gone. Killing a member that is not running does
// nothing.
func (m *Member) Kill() {
	if !m.Running() {
		return
	}
	m.killed = true
	_ = m.cmd.Process.Signal(syscall.SIGKILL)
	<-m.done
}

// Stop pauses the member with SIGSTOP: its sockets stay open, but it answers nothing until Cont.
func (m *Member) Stop() error { return m.signal(syscall.SIGSTOP) }

// Cont resumes a member paused by Stop.
func (m *Member) Cont() error { return m.signal(syscall.SIGCONT) }

func (m *Member) signal(s syscall.Signal) error {
	if !m.Running() {
		return fmt.Errorf("%s is not running", m.Name)
	}
	return m.cmd.Process.Signal(s)
}
