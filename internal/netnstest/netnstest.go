// Package netnstest lets tests act from inside a network namespace: the fault tests probe the paths between
// nodes from inside the nodes' own namespaces, where the nemesis's rules apply. It is test infrastructure only.
package netnstest

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// In runs fn on an OS thread that has entered the network namespace at path (/proc/<pid>/ns/net, or
// /run/netns/<name>); sockets fn opens belong to that namespace, and keep to it after fn returns.
func In(path string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine, namespace and all
		f, err := os.Open(path)
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", path, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// OfPID is the path of the network namespace of process pid.
func OfPID(pid int) string { return fmt.Sprintf("/proc/%d/ns/net", pid) }
