//go:build !linux

package node

import (
	"net"
	"time"
)

// setUserTimeout is a no-op off Linux; the write deadline still bounds a stuck write.
func setUserTimeout(c net.Conn, d time.Duration) {}
