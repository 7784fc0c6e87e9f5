package paxos

import (
	"context"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/targets"
	"github.com/skeptic-dev/skeptic/targets/httpkv"
	"github.com/skeptic-dev/skeptic/targets/paxos/core"
	"github.com/skeptic-dev/skeptic/targets/paxos/node"
)

func TestNewValidates(t *testing.T) {
	if _, err := New(Options{Flaw: "bogus"}); err == nil || !strings.Contains(err.Error(), "flaw") {
		t.Fatalf("bad flaw: %v", err)
	}
	if _, err := New(Options{Read: "fast"}); err == nil || !strings.Contains(err.Error(), "read mode") {
		t.Fatalf("bad read mode: %v", err)
	}
	tg, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if tg.Name() != "paxos" || !targets.Has(tg, targets.CapStatus) || !targets.Has(tg, targets.CapClock) {
		t.Fatalf("name %q caps %v", tg.Name(), tg.Capabilities())
	}
	if _, err := tg.NewClient(targets.Node{ID: "n1"}); err == nil {
		t.Fatal("NewClient accepted a node without a URL")
	}
}

// TestArgsStartANode: the arguments Args builds start a working node through node.Command, and NewClient talks
// to it.
func TestArgsStartANode(t *testing.T) {
	tg, err := New(Options{Flaw: core.FlawNone, Read: core.ReadLease, Client: []httpkv.Option{httpkv.WithTimeout(3 * time.Second)}})
	if err != nil {
		t.Fatal(err)
	}
	addrs := make([]string, 2)
	for i := range addrs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs[i] = ln.Addr().String()
		ln.Close()
	}
	na := targets.NodeArgs{ID: "n1", ClientListen: addrs[0], PeerListen: addrs[1],
		Peers: map[string]string{"n1": addrs[1]}, PeerClientURLs: map[string]string{"n1": "http://" + addrs[0]},
		DataDir: filepath.Join(t.TempDir(), "n1")}
	args, err := tg.Args(na)
	if err != nil {
		t.Fatal(err)
	}
	if args[0] != "node" || !slices.Contains(args, "--data") || !slices.Contains(args, "lease") {
		t.Fatalf("args %v", args)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := node.Command()
	cmd.SetArgs(args[1:])
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	cl, err := tg.NewClient(targets.Node{ID: "n1", ClientURL: "http://" + addrs[0]})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var o targets.Outcome
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if o = cl.Do(ctx, targets.Op{F: targets.FWrite, Key: "a", Value: 3}); o.Type == history.Ok {
			break
		}
	}
	if o.Type != history.Ok {
		t.Fatalf("write never succeeded: %+v", o)
	}
	o = cl.Do(ctx, targets.Op{F: targets.FRead, Key: "a"})
	if o.Type != history.Ok || o.Value == nil || *o.Value != 3 {
		t.Fatalf("read: %+v", o)
	}
	o = cl.Do(ctx, targets.Op{F: targets.FCAS, Key: "a", From: 2, To: 4})
	if o.Type != history.Fail || o.Error != history.ErrCASMismatch || o.Value == nil || *o.Value != 3 {
		t.Fatalf("cas mismatch: %+v", o)
	}
	st, err := httpkv.Status(ctx, "http://"+addrs[0])
	if err != nil || st.ID != "n1" || st.Leader != "n1" || string(st.Extra["read"]) != `"lease"` {
		t.Fatalf("status %+v %v", st, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("node stopped with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("node did not stop within 5s of its context ending")
	}
}
