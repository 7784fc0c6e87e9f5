package node

import (
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// setUserTimeout makes the kernel abort c when data it sent stays unacknowledged for d (TCP_USER_TIMEOUT). Behind a
// firewall that drops packets, a connection otherwise stays "established" while TCP's retransmission backoff grows
// to minutes, and the link would look dead long after the partition healed; with it, the write fails and the
// sender redials.
func setUserTimeout(c net.Conn, d time.Duration) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return
	}
	raw.Control(func(fd uintptr) {
		unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, int(d.Milliseconds()))
	})
}
