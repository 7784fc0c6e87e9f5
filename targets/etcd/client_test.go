package etcd_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/targets"
	"github.com/skeptic-dev/skeptic/targets/etcd"
	"github.com/skeptic-dev/skeptic/targets/etcd/etcdtest"
)

func i64(v int64) *int64 { return &v }

func newClient(t *testing.T, endpoint string, o etcd.Options) *etcd.Client {
	t.Helper()
	c, err := etcd.New(endpoint, o)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, c.Close()) })
	return c
}

func do(c *etcd.Client, op targets.Op) targets.Outcome {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.Do(ctx, op)
}

func read(key string) targets.Op { return targets.Op{F: targets.FRead, Key: key} }
func write(key string, v int64) targets.Op {
	return targets.Op{F: targets.FWrite, Key: key, Value: v}
}
func cas(key string, from, to int64) targets.Op {
	return targets.Op{F: targets.FCAS, Key: key, From: from, To: to}
}

// rawPut stores an arbitrary value with a plain etcd client, as another program could.
func rawPut(t *testing.T, endpoint, key, value string) {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}})
	require.NoError(t, err)
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = cli.Put(ctx, key, value)
	require.NoError(t, err)
}

func TestOptionsAndEndpointErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct {
		endpoint string
		o        etcd.Options
		want     string
	}{
		{"127.0.0.1:2379", etcd.Options{ReadMode: "stale"}, "option ReadMode"},
		{"127.0.0.1:2379", etcd.Options{Timeout: -time.Second}, "option Timeout"},
		{"127.0.0.1:2379", etcd.Options{DialTimeout: -time.Second}, "option DialTimeout"},
		{"", etcd.Options{}, `endpoint ""`},
		{"127.0.0.1", etcd.Options{}, `endpoint "127.0.0.1"`},
		{"https://127.0.0.1:2379", etcd.Options{}, "scheme \"https\""},
		{"http://127.0.0.1:2379/v3", etcd.Options{}, "nothing after the port"},
		{"127.0.0.1:99999", etcd.Options{}, "port \"99999\""},
		{":2379", etcd.Options{}, "empty host"},
	} {
		_, err := etcd.New(tc.endpoint, tc.o)
		if assert.Error(t, err, "%q %+v", tc.endpoint, tc.o) {
			assert.Contains(t, err.Error(), tc.want)
		}
	}
	for _, ep := range []string{"127.0.0.1:2379", "http://127.0.0.1:2379", "http://localhost:2379/"} {
		c, err := etcd.New(ep, etcd.Options{ReadMode: etcd.ReadSerializable})
		require.NoError(t, err, ep)
		require.NoError(t, c.Close())
	}
}

func TestArgs(t *testing.T) {
	all := []etcd.Member{
		{Name: "n2", ClientURL: "http://10.0.0.12:2379", PeerURL: "http://10.0.0.12:2380", DataDir: "/data"},
		{Name: "n1", ClientURL: "http://10.0.0.11:2379", PeerURL: "http://10.0.0.11:2380", DataDir: "/data"},
	}
	args, err := etcd.Args(all[0], all, "tok")
	require.NoError(t, err)
	joined := strings.Join(args, " ")
	for _, want := range []string{
		"--name n2", "--data-dir /data", "--listen-client-urls http://10.0.0.12:2379",
		"--advertise-client-urls http://10.0.0.12:2379", "--listen-peer-urls http://10.0.0.12:2380",
		"--initial-advertise-peer-urls http://10.0.0.12:2380",
		"--initial-cluster n1=http://10.0.0.11:2380,n2=http://10.0.0.12:2380",
		"--initial-cluster-state new", "--initial-cluster-token tok",
	} {
		assert.Contains(t, joined, want)
	}
	me := all[1]
	me.ListenClientURL, me.ListenPeerURL = "http://0.0.0.0:2379", "http://0.0.0.0:2380"
	args, err = etcd.Args(me, all, "tok")
	require.NoError(t, err)
	joined = strings.Join(args, " ")
	for _, want := range []string{
		"--listen-client-urls http://0.0.0.0:2379", "--advertise-client-urls http://10.0.0.11:2379",
		"--listen-peer-urls http://0.0.0.0:2380", "--initial-advertise-peer-urls http://10.0.0.11:2380",
	} {
		assert.Contains(t, joined, want)
	}
	_, err = etcd.Args(etcd.Member{Name: "n3", ClientURL: "x", PeerURL: "y", DataDir: "d"}, all, "tok")
	assert.ErrorContains(t, err, "not one of the cluster's members")
	_, err = etcd.Args(all[0], all, "")
	assert.ErrorContains(t, err, "token")
	_, err = etcd.Args(etcd.Member{Name: "n1"}, all, "tok")
	assert.ErrorContains(t, err, "required")
	_, err = etcd.Args(all[0], append(all, all[1]), "tok")
	assert.ErrorContains(t, err, "twice")
}

// TestRegisterOps runs the three operations against a real one-member cluster.
func TestRegisterOps(t *testing.T) {
	c := etcdtest.Start(t, 1)
	t.Logf("1-member cluster ready in %s", c.Ready)
	m := c.Members[0]
	for _, mode := range []string{etcd.ReadLinearizable, etcd.ReadSerializable} {
		t.Run(mode, func(t *testing.T) {
			cl := newClient(t, m.ClientURL, etcd.Options{ReadMode: mode})
			k := "reg-" + mode
			assert.Equal(t, targets.Outcome{Type: history.Ok}, do(cl, read(k)), "absent key reads nil")
			assert.Equal(t, targets.Outcome{Type: history.Fail, Error: history.ErrCASMismatch}, do(cl, cas(k, 1, 2)),
				"cas on an absent key is a mismatch that saw nil")
			assert.Equal(t, targets.Outcome{Type: history.Ok}, do(cl, write(k, 5)))
			assert.Equal(t, targets.Outcome{Type: history.Ok, Value: i64(5)}, do(cl, read(k)))
			assert.Equal(t, targets.Outcome{Type: history.Ok}, do(cl, cas(k, 5, 6)))
			assert.Equal(t, targets.Outcome{Type: history.Ok, Value: i64(6)}, do(cl, read(k)))
			assert.Equal(t, targets.Outcome{Type: history.Fail, Error: history.ErrCASMismatch, Value: i64(6)},
				do(cl, cas(k, 5, 7)), "a mismatch reports the value it saw")
			assert.Equal(t, targets.Outcome{Type: history.Ok, Value: i64(6)}, do(cl, read(k)), "the mismatch changed nothing")
			assert.Equal(t, targets.Outcome{Type: history.Ok}, do(cl, write(k, -9223372036854775808)))
			assert.Equal(t, targets.Outcome{Type: history.Ok, Value: i64(-9223372036854775808)}, do(cl, read(k)))
		})
	}
	cl := newClient(t, m.Endpoint, etcd.Options{})
	out := do(cl, targets.Op{F: targets.FWrite, Key: ""})
	assert.Equal(t, history.Fail, out.Type)
	assert.Contains(t, out.Error, "empty key")
	out = do(cl, targets.Op{F: "delete", Key: "k"})
	assert.Equal(t, history.Fail, out.Type)
	assert.Contains(t, out.Error, `unknown operation "delete"`)
}

// TestNonIntegerValueIsInfo: a value that is not a decimal int64 is info, with an error that says so.
func TestNonIntegerValueIsInfo(t *testing.T) {
	c := etcdtest.Start(t, 1)
	m := c.Members[0]
	cl := newClient(t, m.Endpoint, etcd.Options{})
	for _, v := range []string{"abc", "", "1.5", "99999999999999999999", " 7"} {
		rawPut(t, m.ClientURL, "junk", v)
		out := do(cl, read("junk"))
		assert.Equal(t, history.Info, out.Type, "read of %q", v)
		assert.Contains(t, out.Error, "not a decimal int64", "read of %q", v)
		out = do(cl, cas("junk", 1, 2))
		assert.Equal(t, history.Info, out.Type, "cas over %q", v)
		assert.Contains(t, out.Error, "not a decimal int64", "cas over %q", v)
	}
	// "07" is 7 written differently: the byte compare of a cas 7->8 fails, but neither outcome is provable.
	rawPut(t, m.ClientURL, "junk", "07")
	assert.Equal(t, targets.Outcome{Type: history.Ok, Value: i64(7)}, do(cl, read("junk")))
	out := do(cl, cas("junk", 7, 8))
	assert.Equal(t, history.Info, out.Type)
	assert.Contains(t, out.Error, "written differently")
}

// TestStatusNamesTheLeader: every member of a 3-member cluster names the same leader, by id and by name.
func TestStatusNamesTheLeader(t *testing.T) {
	c := etcdtest.Start(t, 3)
	t.Logf("3-member cluster ready in %s", c.Ready)
	ids := map[uint64]string{}
	var leader uint64
	for _, m := range c.Members {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err := etcd.Status(ctx, m.ClientURL)
		cancel()
		require.NoError(t, err)
		assert.Equal(t, m.Name, st.Name)
		assert.NotZero(t, st.ID)
		assert.NotZero(t, st.Leader)
		assert.NotZero(t, st.RaftTerm)
		assert.Regexp(t, `^3\.`, st.Version)
		assert.Contains(t, []string{"n1", "n2", "n3"}, st.LeaderName)
		if leader != 0 {
			assert.Equal(t, leader, st.Leader, "%s names another leader", m.Name)
		}
		leader = st.Leader
		ids[st.ID] = st.Name
	}
	assert.Len(t, ids, 3, "three distinct member ids")
	assert.Contains(t, ids, leader, "the leader is one of the members")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := etcd.Status(ctx, "ftp://127.0.0.1:1")
	assert.ErrorContains(t, err, "scheme")
	_, err = etcd.Status(ctx, "127.0.0.1:"+freePort(t))
	assert.ErrorContains(t, err, "etcd status of 127.0.0.1:")
}

// TestReadModeReachesTheServer: on a member cut off from its quorum (the two others killed), a serializable read
// answers from the member's own state while a linearizable one cannot complete (info).
func TestReadModeReachesTheServer(t *testing.T) {
	c := etcdtest.Start(t, 3)
	m := c.Members[2]
	lin := newClient(t, m.Endpoint, etcd.Options{ReadMode: etcd.ReadLinearizable, Timeout: 2 * time.Second})
	ser := newClient(t, m.Endpoint, etcd.Options{ReadMode: etcd.ReadSerializable, Timeout: 2 * time.Second})
	require.Equal(t, targets.Outcome{Type: history.Ok}, do(lin, write("rm", 42)))
	require.Equal(t, targets.Outcome{Type: history.Ok, Value: i64(42)}, do(lin, read("rm")))
	require.Equal(t, targets.Outcome{Type: history.Ok, Value: i64(42)}, do(ser, read("rm")))
	c.Members[0].Kill()
	c.Members[1].Kill()
	assert.Equal(t, targets.Outcome{Type: history.Ok, Value: i64(42)}, do(ser, read("rm")),
		"a serializable read needs no quorum")
	out := do(lin, read("rm"))
	assert.Equal(t, history.Info, out.Type, "a linearizable read without a quorum: %+v", out)
	t.Logf("linearizable read without quorum: %s", out.Error)
	out = do(lin, write("rm", 43))
	assert.Equal(t, history.Info, out.Type, "a write without a quorum: %+v", out)
	t.Logf("write without quorum: %s", out.Error)
}

// TestKilledMemberInFlightIsInfo: a write (and a cas) sent to a paused member that is then killed may or may not
// have taken effect: info, not fail. Once the member is gone, a request that cannot connect was never sent: fail.
func TestKilledMemberInFlightIsInfo(t *testing.T) {
	c := etcdtest.Start(t, 1)
	m := c.Members[0]
	cl := newClient(t, m.Endpoint, etcd.Options{Timeout: 20 * time.Second})
	cl2 := newClient(t, m.Endpoint, etcd.Options{Timeout: 20 * time.Second})
	require.Equal(t, targets.Outcome{Type: history.Ok}, do(cl, write("k", 1)))
	require.Equal(t, targets.Outcome{Type: history.Ok}, do(cl2, write("k", 1)))
	require.NoError(t, m.Stop())
	outs := make(chan targets.Outcome, 2)
	go func() { outs <- cl.Do(context.Background(), write("k", 2)) }()
	go func() { outs <- cl2.Do(context.Background(), cas("k", 1, 3)) }()
	time.Sleep(500 * time.Millisecond) // the requests are in the paused member's socket
	t0 := time.Now()
	m.Kill()
	for range 2 {
		select {
		case out := <-outs:
			assert.Equal(t, history.Info, out.Type, "%+v", out)
			assert.NotContains(t, out.Error, "timed out", "the kill, not the timeout, ended it")
			t.Logf("in flight when killed: %s (after %s)", out.Error, time.Since(t0).Round(time.Millisecond))
		case <-time.After(15 * time.Second):
			require.FailNow(t, "the requests did not end after the member was killed")
		}
	}
	for _, op := range []targets.Op{write("k", 4), cas("k", 1, 5), read("k")} {
		// The first request may still go out on the dying connection before the client has seen it reset: that
		// one is info (sound: nothing proves it was not sent). Once the client knows, every request is a fail.
		var out targets.Outcome
		require.Eventually(t, func() bool {
			out = do(cl, op)
			if out.Type == history.Info {
				t.Logf("%s on the dying connection: %s", op.F, out.Error)
				return false
			}
			return true
		}, 10*time.Second, 50*time.Millisecond, "%s to a dead member never failed as not sent: %+v", op.F, out)
		assert.Equal(t, history.Fail, out.Type, "%s to a dead member: %+v", op.F, out)
		assert.Contains(t, out.Error, "not sent")
		// Usually "connection refused"; a connection racing the dying listener can be reset instead, while
		// dialing or before the server's HTTP/2 preface.
		assert.Regexp(t, "Error while dialing|error reading server preface", out.Error)
	}
	// The client stays bound to its member: it works again once the member is back.
	require.NoError(t, m.Start())
	require.NoError(t, c.WaitLeader(30*time.Second))
	var out targets.Outcome
	require.Eventually(t, func() bool {
		out = do(cl, read("k"))
		return out.Type == history.Ok
	}, 20*time.Second, 100*time.Millisecond, "last: %+v", out)
}

// TestNeverConnectedIsFail: nothing listens at the endpoint, so no request was ever sent.
func TestNeverConnectedIsFail(t *testing.T) {
	cl := newClient(t, "127.0.0.1:"+freePort(t), etcd.Options{})
	for _, op := range []targets.Op{write("k", 1), cas("k", 1, 2), read("k")} {
		out := do(cl, op)
		assert.Equal(t, history.Fail, out.Type, "%+v", out)
		assert.Contains(t, out.Error, "connection refused")
	}
}

// TestDeadlineIsInfo: a request to a paused member ends at the caller's deadline, or at the client's Timeout,
// as info; so does one whose ctx is canceled.
func TestDeadlineIsInfo(t *testing.T) {
	c := etcdtest.Start(t, 1)
	m := c.Members[0]
	cl := newClient(t, m.Endpoint, etcd.Options{})
	short := newClient(t, m.Endpoint, etcd.Options{Timeout: 300 * time.Millisecond})
	require.Equal(t, targets.Outcome{Type: history.Ok}, do(cl, write("k", 1)))
	require.Equal(t, targets.Outcome{Type: history.Ok}, do(short, write("k", 1)))
	require.NoError(t, m.Stop())
	defer func() { require.NoError(t, m.Cont()) }()
	for _, op := range []targets.Op{write("k", 2), cas("k", 1, 2), read("k")} {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		t0 := time.Now()
		out := cl.Do(ctx, op)
		cancel()
		assert.Less(t, time.Since(t0), 3*time.Second, "Do returns at the deadline")
		assert.Equal(t, history.Info, out.Type, "%s, ctx deadline: %+v", op.F, out)
		assert.Contains(t, out.Error, "timed out")

		out = short.Do(context.Background(), op)
		assert.Equal(t, history.Info, out.Type, "%s, client Timeout: %+v", op.F, out)
		assert.Contains(t, out.Error, "timed out")

		ctx, cancel = context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)
		out = cl.Do(ctx, op)
		assert.Equal(t, history.Info, out.Type, "%s, canceled: %+v", op.F, out)
		assert.Contains(t, out.Error, "canceled")
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	_, p, _ := net.SplitHostPort(l.Addr().String())
	return p
}

// TestLeaderKilledUnderAFollowersWrite: a write through a follower whose leader is paused and then killed is
// proposed but never committed by that leader; the follower answers with a server error (or the client's
// timeout ends it), which is info: a new leader could still commit it. A new leader can also commit it before
// the client gives up (the two members left elect one within a second or two), and then the answer is ok; never
// a fail, which would say it did not happen. What the key holds afterwards agrees with every ok.
func TestLeaderKilledUnderAFollowersWrite(t *testing.T) {
	c := etcdtest.Start(t, 3)
	leader, err := c.Leader(10 * time.Second)
	require.NoError(t, err)
	var follower *etcdtest.Member
	for _, m := range c.Members {
		if m != leader {
			follower = m
			break
		}
	}
	cl := newClient(t, follower.Endpoint, etcd.Options{Timeout: 20 * time.Second})
	require.Equal(t, targets.Outcome{Type: history.Ok}, do(cl, write("lk", 1)))
	require.NoError(t, leader.Stop())
	type done struct {
		f   string
		out targets.Outcome
	}
	outs := make(chan done, 2)
	for _, op := range []targets.Op{write("lk", 2), cas("lk", 1, 3)} {
		go func() { outs <- done{op.F, cl.Do(context.Background(), op)} }()
	}
	time.Sleep(300 * time.Millisecond)
	t0 := time.Now()
	leader.Kill()
	oks := map[string]bool{}
	for range 2 {
		d := <-outs
		assert.Contains(t, []history.Type{history.Info, history.Ok}, d.out.Type, "%s, which may yet commit: %+v", d.f, d.out)
		if d.out.Type == history.Ok {
			oks[d.f] = true
		}
		t.Logf("%s through follower %s, leader %s killed: %s %s (after %s)", d.f, follower.Name, leader.Name, d.out.Type, d.out.Error, time.Since(t0).Round(time.Millisecond))
	}
	// The two members left elect a leader, and the client, still bound to its member, works again.
	require.NoError(t, c.WaitLeader(30*time.Second))
	var out targets.Outcome
	require.Eventually(t, func() bool {
		out = do(cl, read("lk"))
		return out.Type == history.Ok
	}, 20*time.Second, 100*time.Millisecond, "last: %+v", out)
	require.NotNil(t, out.Value)
	assert.Contains(t, []int64{1, 2, 3}, *out.Value)
	// A write of 2 that took effect leaves 2: a cas from 1 after it would have failed.
	if oks[targets.FWrite] {
		assert.Equal(t, int64(2), *out.Value, "the write of 2 was acknowledged")
	}
	if oks[targets.FCAS] {
		assert.Contains(t, []int64{2, 3}, *out.Value, "the cas to 3 was acknowledged")
	}
	t.Logf("the key holds %d afterwards", *out.Value)
}
