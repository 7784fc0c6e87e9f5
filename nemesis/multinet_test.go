package nemesis_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/nemesis"
	"github.com/skeptic-dev/skeptic/nemesis/netproxy"
)

// TestMultiNetCutsEveryPath puts two real meshes (say, peer and client ports) under one MultiNet: a partition
// cuts both paths and a heal restores both.
func TestMultiNetCutsEveryPath(t *testing.T) {
	var meshes nemesis.MultiNet
	var addrs []func() string
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() { defer c.Close(); b := make([]byte, 1); _, _ = c.Read(b); _, _ = c.Write(b) }()
			}
		}()
		m, err := netproxy.NewMesh(map[string]string{"a": "127.0.0.1:1", "b": ln.Addr().String()})
		require.NoError(t, err)
		t.Cleanup(func() { m.Close() })
		meshes = append(meshes, m)
		addrs = append(addrs, func() string { return m.Addr("a", "b") })
	}
	reaches := func(addr string) bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(300 * time.Millisecond))
		if _, err := c.Write([]byte{7}); err != nil {
			return false
		}
		b := make([]byte, 1)
		_, err = c.Read(b)
		return err == nil && b[0] == 7
	}
	ctx := context.Background()
	for i, a := range addrs {
		require.True(t, reaches(a()), "path %d does not deliver before the partition", i)
	}
	require.NoError(t, meshes.Partition(ctx, nemesis.Grudge{"b": {"a"}}))
	for i, a := range addrs {
		assert.False(t, reaches(a()), "path %d still delivers a->b", i)
	}
	require.NoError(t, meshes.Heal(ctx))
	for i, a := range addrs {
		assert.True(t, reaches(a()), "path %d does not deliver after heal", i)
	}
}
