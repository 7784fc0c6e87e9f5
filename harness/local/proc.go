package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
)

// proc is the local cluster's nemesis.Proc.
type proc struct{ c *Cluster }

// locked returns the cluster and node id with the cluster's lock held; the caller unlocks it.
func (p proc) locked(id string) (*Cluster, *node, error) {
	n, err := p.c.node(id)
	if err != nil {
		return nil, nil, err
	}
	p.c.mu.Lock()
	return p.c, n, nil
}

// Kill sends SIGKILL to the node's process group and waits until its process has exited. Killing a node that is
// not running is a no-op. Its data dir stays.
func (p proc) Kill(ctx context.Context, id string) error {
	c, n, err := p.locked(id)
	if err != nil {
		return err
	}
	if !n.running() {
		c.mu.Unlock()
		return nil
	}
	pid, done := n.cmd.Process.Pid, n.done
	err = syscall.Kill(-pid, syscall.SIGKILL)
	n.paused = false
	c.mu.Unlock()
	if err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("node %s: SIGKILL to process group %d: %w", id, pid, err)
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("node %s: process %d did not exit after SIGKILL: %w", id, pid, ctx.Err())
	}
}

// Start starts a killed node again with the same program, arguments, ports and data dir. Starting a running
// node is a no-op. It returns once the process runs; Cluster.WaitReady waits for its client port.
func (p proc) Start(ctx context.Context, id string) error {
	c, n, err := p.locked(id)
	if err != nil {
		return err
	}
	defer c.mu.Unlock()
	if c.down {
		return fmt.Errorf("node %s: the cluster was torn down", id)
	}
	if n.running() {
		return nil
	}
	return c.startNode(n)
}

// Pause sends SIGSTOP to the node's process group and waits (briefly) until its process is stopped. Pausing a
// paused node is a no-op; pausing a node that is not running is an error.
func (p proc) Pause(ctx context.Context, id string) error {
	return p.signal(ctx, id, true)
}

// Resume sends SIGCONT to a paused node's process group. Resuming a node that is not paused is a no-op.
func (p proc) Resume(ctx context.Context, id string) error {
	return p.signal(ctx, id, false)
}

func (p proc) signal(ctx context.Context, id string, stop bool) error {
	c, n, err := p.locked(id)
	if err != nil {
		return err
	}
	defer c.mu.Unlock()
	if !n.running() {
		if stop {
			return fmt.Errorf("node %s is not running, so it cannot be paused", id)
		}
		return nil
	}
	if n.paused == stop {
		return nil
	}
	pid := n.cmd.Process.Pid
	sig, name := syscall.SIGCONT, "SIGCONT"
	if stop {
		sig, name = syscall.SIGSTOP, "SIGSTOP"
	}
	if err := syscall.Kill(-pid, sig); err != nil {
		return fmt.Errorf("node %s: %s to process group %d: %w", id, name, pid, err)
	}
	n.paused = stop
	if !stop {
		return nil
	}
	// SIGSTOP is delivered asynchronously: wait until the kernel shows the process stopped.
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if procState(pid) == "T" {
			return nil
		}
		time.Sleep(time.Millisecond)
	}
	return fmt.Errorf("node %s: process %d is %q, not stopped, after SIGSTOP", id, pid, procState(pid))
}

// procState returns the state letter of /proc/<pid>/stat (R, S, T, Z, ...), or "" when it cannot be read.
func procState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return ""
	}
	return s[i+2 : i+3]
}
