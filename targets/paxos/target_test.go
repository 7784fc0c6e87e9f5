package paxos

import (
	"context"
	"net"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/targets"
	"github.com/skeptic-dev/skeptic/targets/httpkv"
	"github.com/skeptic-dev/skeptic/targets/paxos/core"
	"github.com/skeptic-dev/skeptic/targets/paxos/node"
)

func TestNewValidates(t *testing.T) {
	_, err := New(Options{Flaw: "bogus"})
	require.ErrorContains(t, err, "flaw", "bad flaw")
	_, err = New(Options{Read: "fast"})
	require.ErrorContains(t, err, "read mode", "bad read mode")
	tg, err := New(Options{})
	require.NoError(t, err)
	require.Equal(t, "paxos", tg.Name())
	require.True(t, targets.Has(tg, targets.CapStatus), "caps %v", tg.Capabilities())
	require.True(t, targets.Has(tg, targets.CapClock), "caps %v", tg.Capabilities())
	_, err = tg.NewClient(targets.Node{ID: "n1"})
	require.Error(t, err, "NewClient accepted a node without a URL")
}

// TestArgsStartANode: the arguments Args builds start a working node through node.Command, and NewClient talks
// to it.
func TestArgsStartANode(t *testing.T) {
	tg, err := New(Options{Flaw: core.FlawNone, Read: core.ReadLease, Client: []httpkv.Option{httpkv.WithTimeout(3 * time.Second)}})
	require.NoError(t, err)
	addrs := make([]string, 2)
	for i := range addrs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addrs[i] = ln.Addr().String()
		ln.Close()
	}
	na := targets.NodeArgs{ID: "n1", ClientListen: addrs[0], PeerListen: addrs[1],
		Peers: map[string]string{"n1": addrs[1]}, PeerClientURLs: map[string]string{"n1": "http://" + addrs[0]},
		DataDir: filepath.Join(t.TempDir(), "n1")}
	args, err := tg.Args(na)
	require.NoError(t, err)
	require.Equal(t, "node", args[0], "args %v", args)
	require.True(t, slices.Contains(args, "--data"), "args %v", args)
	require.True(t, slices.Contains(args, "lease"), "args %v", args)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := node.Command()
	cmd.SetArgs(args[1:])
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	cl, err := tg.NewClient(targets.Node{ID: "n1", ClientURL: "http://" + addrs[0]})
	require.NoError(t, err)
	defer cl.Close()
	var o targets.Outcome
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if o = cl.Do(ctx, targets.Op{F: targets.FWrite, Key: "a", Value: 3}); o.Type == history.Ok {
			break
		}
	}
	require.Equal(t, history.Ok, o.Type, "write never succeeded: %+v", o)
	o = cl.Do(ctx, targets.Op{F: targets.FRead, Key: "a"})
	require.Equal(t, history.Ok, o.Type, "read: %+v", o)
	require.NotNil(t, o.Value, "read: %+v", o)
	require.EqualValues(t, 3, *o.Value, "read: %+v", o)
	o = cl.Do(ctx, targets.Op{F: targets.FCAS, Key: "a", From: 2, To: 4})
	require.Equal(t, history.Fail, o.Type, "cas mismatch: %+v", o)
	require.Equal(t, history.ErrCASMismatch, o.Error, "cas mismatch: %+v", o)
	require.NotNil(t, o.Value, "cas mismatch: %+v", o)
	require.EqualValues(t, 3, *o.Value, "cas mismatch: %+v", o)
	st, err := httpkv.Status(ctx, "http://"+addrs[0])
	require.NoError(t, err)
	require.Equal(t, "n1", st.ID)
	require.Equal(t, "n1", st.Leader)
	require.Equal(t, `"lease"`, string(st.Extra["read"]))
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err, "node stopped with an error")
	case <-time.After(5 * time.Second):
		require.FailNow(t, "node did not stop within 5s of its context ending")
	}
}
