package nft_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/internal/netnstest"
	"github.com/skeptic-dev/skeptic/nemesis/nft"
)

// The tests build a small switched network of real namespaces: a hub namespace holding a bridge, and one
// namespace per node (plus one for a "harness client"), each wired to the bridge by a veth pair, all in a random
// 10.202.K.0/24. A sleep process inside each node namespace stands in for the container's init process.

// requireRoot skips a test that needs root, unless SKEPTIC_REQUIRE_DOCKER=1 (CI), where it fails.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("SKEPTIC_REQUIRE_DOCKER") == "1" {
		require.FailNow(t, "this test needs root (network namespaces and nftables), and SKEPTIC_REQUIRE_DOCKER=1 requires it")
	}
	t.Skip("needs root for network namespaces and nftables; run as root (CI sets SKEPTIC_REQUIRE_DOCKER=1)")
}

// topo is a test network.
type topo struct {
	t     *testing.T
	ns    map[string]string     // member -> namespace name
	ip    map[string]netip.Addr // member -> address
	procs map[string]*exec.Cmd  // node -> sleep process
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	require.NoError(t, err, "%s %s: %s", name, strings.Join(args, " "), out)
}

// newTopo makes namespaces for nodes and for "client" (which has no sleep process and is never a peer).
func newTopo(t *testing.T, nodes ...string) *topo {
	t.Helper()
	requireRoot(t)
	tag := fmt.Sprintf("%04x", rand.IntN(1<<16))
	subnet := 1 + rand.IntN(250)
	tp := &topo{t: t, ns: map[string]string{}, ip: map[string]netip.Addr{}, procs: map[string]*exec.Cmd{}}
	hub := "skeptic-test-" + tag + "-hub"
	run(t, "ip", "netns", "add", hub)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", hub).Run() })
	run(t, "ip", "-n", hub, "link", "add", "br0", "type", "bridge")
	run(t, "ip", "-n", hub, "link", "set", "br0", "up")
	members := append(append([]string(nil), nodes...), "client")
	for i, m := range members {
		name := "skeptic-test-" + tag + "-" + m
		tp.ns[m] = name
		tp.ip[m] = netip.AddrFrom4([4]byte{10, 202, byte(subnet), byte(i + 1)})
		run(t, "ip", "netns", "add", name)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
		hubSide := fmt.Sprintf("v%s%d", tag, i)
		run(t, "ip", "-n", name, "link", "add", "eth0", "type", "veth", "peer", "name", hubSide, "netns", hub)
		run(t, "ip", "-n", hub, "link", "set", hubSide, "master", "br0", "up")
		run(t, "ip", "-n", name, "addr", "add", tp.ip[m].String()+"/24", "dev", "eth0")
		run(t, "ip", "-n", name, "link", "set", "eth0", "up")
		run(t, "ip", "-n", name, "link", "set", "lo", "up")
		if m == "client" {
			continue
		}
		cmd := exec.Command("ip", "netns", "exec", name, "sleep", "3600")
		require.NoError(t, cmd.Start(), "start sleep in %s", name)
		tp.procs[m] = cmd
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
	}
	// Wait until every node's sleep runs inside its namespace (ip netns exec has entered it and exec'd).
	for _, m := range nodes {
		deadline := time.Now().Add(5 * time.Second)
		for {
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", tp.procs[m].Process.Pid))
			if strings.TrimSpace(string(b)) == "sleep" {
				break
			}
			require.False(t, time.Now().After(deadline), "sleep in %s did not start", tp.ns[m])
			time.Sleep(10 * time.Millisecond)
		}
	}
	return tp
}

// hosts describes the nodes to nft.New; a node whose sleep was killed reports ErrNoProcess.
func (tp *topo) hosts() map[string]nft.Host {
	h := map[string]nft.Host{}
	for m, cmd := range tp.procs {
		h[m] = nft.Host{IP: tp.ip[m], PID: func() (int, error) {
			if cmd.ProcessState != nil {
				return 0, nft.ErrNoProcess
			}
			return cmd.Process.Pid, nil
		}}
	}
	return h
}

// inNS runs fn on an OS thread that has entered member's namespace; sockets fn creates belong to it.
func (tp *topo) inNS(member string, fn func() error) error {
	return netnstest.In("/run/netns/"+tp.ns[member], fn)
}

// udp sends n numbered datagrams from one member to another and returns how many arrived.
func (tp *topo) udp(from, to string, n int) int {
	tp.t.Helper()
	var srv, cli *net.UDPConn
	require.NoError(tp.t, tp.inNS(to, func() (err error) {
		srv, err = net.ListenUDP("udp4", &net.UDPAddr{IP: tp.ip[to].AsSlice()})
		return err
	}))
	defer srv.Close()
	_ = srv.SetReadBuffer(1 << 20)
	require.NoError(tp.t, tp.inNS(from, func() (err error) {
		cli, err = net.ListenUDP("udp4", &net.UDPAddr{IP: tp.ip[from].AsSlice()})
		return err
	}))
	defer cli.Close()
	seen := map[string]bool{}
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64)
		for {
			k, _, err := srv.ReadFromUDP(buf)
			if err != nil {
				return
			}
			mu.Lock()
			seen[string(buf[:k])] = true
			mu.Unlock()
		}
	}()
	dst := srv.LocalAddr().(*net.UDPAddr)
	for i := range n {
		if _, err := cli.WriteToUDP([]byte(fmt.Sprintf("probe-%d", i)), dst); !errors.Is(err, syscall.ECONNREFUSED) {
			require.NoError(tp.t, err, "send %s->%s", from, to)
		}
		if i%25 == 24 {
			time.Sleep(time.Millisecond) // stay far below any buffer's limit
		}
	}
	time.Sleep(200 * time.Millisecond)
	_ = srv.SetReadDeadline(time.Now())
	<-done
	mu.Lock()
	defer mu.Unlock()
	return len(seen)
}

// tcp reports whether from can open a TCP connection to to and exchange a line with it within 700ms.
func (tp *topo) tcp(from, to string) bool {
	tp.t.Helper()
	var ln net.Listener
	require.NoError(tp.t, tp.inNS(to, func() (err error) {
		ln, err = net.Listen("tcp4", net.JoinHostPort(tp.ip[to].String(), "0"))
		return err
	}))
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 5)
				if _, err := c.Read(buf); err == nil {
					_, _ = c.Write(buf)
				}
			}()
		}
	}()
	ok := false
	require.NoError(tp.t, tp.inNS(from, func() error {
		d := net.Dialer{Timeout: 700 * time.Millisecond}
		c, err := d.Dial("tcp4", ln.Addr().String())
		if err != nil {
			return nil
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(700 * time.Millisecond))
		if _, err := c.Write([]byte("hello")); err != nil {
			return nil
		}
		buf := make([]byte, 5)
		if _, err := c.Read(buf); err == nil && bytes.Equal(buf, []byte("hello")) {
			ok = true
		}
		return nil
	}))
	return ok
}

// tables lists the nftables tables in node's namespace.
func (tp *topo) tables(member string) string {
	tp.t.Helper()
	out, err := exec.Command("ip", "netns", "exec", tp.ns[member], "nft", "list", "tables").CombinedOutput()
	require.NoError(tp.t, err, "nft list tables in %s: %s", member, out)
	return string(out)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}
