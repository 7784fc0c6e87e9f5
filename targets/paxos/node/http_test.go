package node

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBadRequests: each malformed request gets a 400 whose definite error names what was wrong.
func TestBadRequests(t *testing.T) {
	c := newCluster(t, 1, nil)
	c.leader(10 * time.Second)
	u := c.url(0)
	for _, tc := range []struct {
		method, path, body string
		hdr                []string
		status             int
		want               string
	}{
		{"PUT", "/kv/a", `{"value":`, nil, 400, "not a JSON object"},
		{"PUT", "/kv/a", `[1]`, nil, 400, "not a JSON object"},
		{"PUT", "/kv/a", `{}`, nil, 400, `no field "value"`},
		{"PUT", "/kv/a", `{"value":1.5}`, nil, 400, `"value" must be an integer`},
		{"PUT", "/kv/a", `{"value":"7"}`, nil, 400, `"value" must be an integer`},
		{"PUT", "/kv/a", `{"value":99999999999999999999}`, nil, 400, `"value" must be an integer`},
		{"PUT", "/kv/a", `{"value":1,"extra":2}`, nil, 400, `unknown field "extra"`},
		{"POST", "/kv/a/cas", `{"from":1}`, nil, 400, `no field "to"`},
		{"POST", "/kv/a/cas", `{"from":null,"to":1}`, nil, 400, `"from" must be an integer`},
		{"GET", "/kv/", "", nil, 400, "empty key"},
		{"PUT", "/kv/", `{"value":1}`, nil, 400, "empty key"},
		{"GET", "/kv/a", "", []string{HeaderClient, "c1"}, 400, HeaderSeq},
		{"GET", "/kv/a", "", []string{HeaderClient, "c1", HeaderSeq, "x"}, 400, HeaderSeq},
		{"DELETE", "/kv/a", "", nil, 404, "no such endpoint"},
		{"GET", "/nope", "", nil, 404, "no such endpoint"},
	} {
		st, m := call(t, tc.method, u+tc.path, tc.body, tc.hdr...)
		assert.Equal(t, tc.status, st, "%s %s %s: %v", tc.method, tc.path, tc.body, m)
		assert.Equal(t, true, m["definite"], "%s %s %s: %v", tc.method, tc.path, tc.body, m)
		assert.Contains(t, m["error"], tc.want, "%s %s %s: %v", tc.method, tc.path, tc.body, m)
	}
	// Path-escaped keys are keys like any other.
	mustOK(t, "PUT", u+"/kv/a%2Fb%20c", `{"value":-3}`)
	require.Equal(t, float64(-3), mustOK(t, "GET", u+"/kv/a%2Fb%20c", "")["value"], "escaped key")
}

// TestHeaderCommandID: two requests with the same Skeptic-Client/Skeptic-Seq are applied once: the retry gets the
// original's result even though the value changed in between.
func TestHeaderCommandID(t *testing.T) {
	c := newCluster(t, 1, nil)
	c.leader(10 * time.Second)
	u := c.url(0)
	mustOK(t, "PUT", u+"/kv/x", `{"value":1}`)
	h := []string{HeaderClient, "worker-7", HeaderSeq, "5"}
	st, m := call(t, "POST", u+"/kv/x/cas", `{"from":1,"to":2}`, h...)
	require.Equal(t, 200, st, "first cas: %v", m)
	mustOK(t, "PUT", u+"/kv/x", `{"value":1}`)
	// Retried: must not apply again (x stays 1), and answers with the original result.
	st, m = call(t, "POST", u+"/kv/x/cas", `{"from":1,"to":2}`, h...)
	require.Equal(t, 200, st, "retried cas: %v, want the original 200", m)
	require.Equal(t, float64(1), mustOK(t, "GET", u+"/kv/x", "")["value"], "x after a retried cas (applied once)")
}

// TestClockEndpoint sets, checks and resets the clock, and rejects bad bodies with a 400 naming the problem.
func TestClockEndpoint(t *testing.T) {
	c := newCluster(t, 1, nil)
	c.leader(10 * time.Second)
	u := c.url(0)
	n := c.nodes[0]
	wall0, mono0 := n.clock.Now(), n.clock.Mono()
	st, m := call(t, "POST", u+"/admin/clock", `{"offset_ns":3000000000,"rate":4}`)
	require.Equal(t, 200, st, "set clock: %v", m)
	_, m = call(t, "GET", u+"/admin/status", "")
	require.Equal(t, float64(3e9), m["clock_offset_ns"], "status after clock set: %v", m)
	require.Equal(t, float64(4), m["clock_rate"], "status after clock set: %v", m)
	require.Equal(t, "n1", m["id"], "status after clock set: %v", m)
	require.Equal(t, "n1", m["leader"], "status after clock set: %v", m)
	skew := n.clock.Now().Sub(wall0)
	require.GreaterOrEqual(t, skew, 3*time.Second, "wall clock after a +3s jump")
	require.LessOrEqual(t, skew, 4*time.Second, "wall clock after a +3s jump")
	time.Sleep(100 * time.Millisecond)
	require.GreaterOrEqual(t, n.clock.Mono()-mono0, 350*time.Millisecond, "monotonic clock advance in 100ms real at rate 4")
	// The node still works at 4x speed (ticks run 4x as often).
	mustOK(t, "PUT", u+"/kv/k", `{"value":1}`)
	for _, tc := range []struct{ body, want string }{
		{`{"offset_ns":0,"rate":0}`, "rate must be a finite number above 0"},
		{`{"offset_ns":0,"rate":-1}`, "rate must be a finite number above 0"},
		{`{"offset_ns":0}`, `needs both "offset_ns" and "rate"`},
		{`{"rate":1}`, `needs both "offset_ns" and "rate"`},
		{`{"offset_ns":"x","rate":1}`, "body must be"},
		{`{"offset_ns":0,"rate":1,"skew":2}`, "unknown field"},
		{`nope`, "body must be"},
	} {
		st, m := call(t, "POST", u+"/admin/clock", tc.body)
		assert.Equal(t, 400, st, "POST /admin/clock %s: %v", tc.body, m)
		assert.Contains(t, m["error"], tc.want, "POST /admin/clock %s: %v", tc.body, m)
	}
	st, m = call(t, "POST", u+"/admin/clock", `{"offset_ns":0,"rate":1}`)
	require.Equal(t, 200, st, "reset clock failed: %v", m)
	require.InDelta(t, 0, float64(n.clock.Now().Sub(time.Now())), float64(50*time.Millisecond), "after reset the wall clock is off real time")
}

// TestDefiniteOnlyWhenNothingProposed: with no leader, requests fail definitely; with a leader that lost its
// majority after proposing, writes are answered as unknown, never as definite failures.
func TestDefiniteOnlyWhenNothingProposed(t *testing.T) {
	c := newCluster(t, 3, func(cfg *Config) { cfg.RequestTimeout = time.Second })
	lead := c.leader(10 * time.Second)
	mustOK(t, "PUT", c.url(lead)+"/kv/a", `{"value":1}`)
	for i := range c.nodes {
		if i != lead {
			c.stop(i)
		}
	}
	st, m := call(t, "PUT", c.url(lead)+"/kv/a", `{"value":2}`)
	require.NotEqual(t, 200, st, "write to a leader without a majority: %v; want an unknown outcome", m)
	require.NotEqual(t, true, m["definite"], "write to a leader without a majority: %v; want an unknown outcome (no definite)", m)
	// Now a lone node that never had a leader: nothing can be proposed, so the failure is definite.
	c2 := newCluster(t, 3, nil)
	c2.stop(1)
	c2.stop(2)
	st, m = call(t, "PUT", c2.url(0)+"/kv/a", `{"value":2}`)
	require.Equal(t, 503, st, "write with no leader known: %v", m)
	require.Equal(t, true, m["definite"], "write with no leader known: %v", m)
	require.Contains(t, m["error"], "no leader", "write with no leader known")
}

// TestForwarding: a follower relays to the leader; when the leader cannot be reached nothing was sent, so the
// failure is definite; a request already forwarded once is not forwarded again.
func TestForwarding(t *testing.T) {
	dead := freeAddrs(t, 1)[0]
	c := newCluster(t, 3, nil)
	lead := c.leader(10 * time.Second)
	f := (lead + 1) % 3
	// Forwarded write, then the answer relayed with its meaning (409 stays 409).
	mustOK(t, "PUT", c.url(f)+"/kv/fw", `{"value":5}`)
	st, m := call(t, "POST", c.url(f)+"/kv/fw/cas", `{"from":4,"to":6}`)
	require.Equal(t, 409, st, "forwarded cas mismatch: %v", m)
	require.Equal(t, float64(5), m["value"], "forwarded cas mismatch: %v", m)
	st, m = call(t, "PUT", c.url(f)+"/kv/fw", `{"value":6}`, HeaderForwardedBy, "n9")
	require.Equal(t, 503, st, "twice-forwarded request: %v", m)
	require.Equal(t, true, m["definite"], "twice-forwarded request: %v", m)
	require.Contains(t, m["error"], "does not lead", "twice-forwarded request")
	// Point the follower's idea of the leader's URL at a dead port.
	c.stop(f)
	urls := map[string]string{}
	for k, v := range c.cfgs[f].PeerClientURLs {
		urls[k] = v
	}
	urls[c.cfgs[lead].ID] = "http://" + dead
	c.cfgs[f].PeerClientURLs = urls
	c.start(f)
	deadline := time.Now().Add(5 * time.Second)
	for c.nodes[f].Status().Leader == "" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	st, m = call(t, "PUT", c.url(f)+"/kv/fw", `{"value":7}`)
	require.Equal(t, 503, st, "forward to an unreachable leader: %v", m)
	require.Equal(t, true, m["definite"], "forward to an unreachable leader: %v", m)
	require.Contains(t, m["error"], "could not connect", "forward to an unreachable leader")
	require.Equal(t, float64(5), mustOK(t, "GET", c.url(lead)+"/kv/fw", "")["value"], "fw (the refused forward changed nothing)")
}

// TestForgottenDuplicateIsUnknown: a retry whose original left kv's window may or may not have been applied, so the
// node answers it as unknown (504, definite false) and does not apply it again.
func TestForgottenDuplicateIsUnknown(t *testing.T) {
	c := newCluster(t, 1, nil)
	c.leader(10 * time.Second)
	u := c.url(0)
	for seq := 1; seq <= 70; seq++ {
		st, m := call(t, "PUT", u+"/kv/d", fmt.Sprintf(`{"value":%d}`, seq), HeaderClient, "w1", HeaderSeq, fmt.Sprint(seq))
		require.Equal(t, 200, st, "seq %d: %v", seq, m)
	}
	st, m := call(t, "PUT", u+"/kv/d", `{"value":1}`, HeaderClient, "w1", HeaderSeq, "1")
	require.Equal(t, 504, st, "retry of a forgotten seq: %v", m)
	require.Equal(t, false, m["definite"], "retry of a forgotten seq: %v", m)
	require.Contains(t, m["error"], "duplicate", "retry of a forgotten seq")
	require.Equal(t, float64(70), mustOK(t, "GET", u+"/kv/d", "")["value"], "d (the old retry must not apply)")
}
