package node

import (
	"fmt"
	"strings"
	"testing"
	"time"
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
		msg, _ := m["error"].(string)
		if st != tc.status || m["definite"] != true || !strings.Contains(msg, tc.want) {
			t.Errorf("%s %s %s: status %d %v; want %d, definite, error containing %q", tc.method, tc.path, tc.body, st, m, tc.status, tc.want)
		}
	}
	// Path-escaped keys are keys like any other.
	mustOK(t, "PUT", u+"/kv/a%2Fb%20c", `{"value":-3}`)
	if m := mustOK(t, "GET", u+"/kv/a%2Fb%20c", ""); m["value"] != float64(-3) {
		t.Fatalf("escaped key read %v, want -3", m["value"])
	}
}

// TestHeaderCommandID: two requests with the same Skeptic-Client/Skeptic-Seq are applied once: the retry gets the
// original's result even though the value changed in between.
func TestHeaderCommandID(t *testing.T) {
	c := newCluster(t, 1, nil)
	c.leader(10 * time.Second)
	u := c.url(0)
	mustOK(t, "PUT", u+"/kv/x", `{"value":1}`)
	h := []string{HeaderClient, "worker-7", HeaderSeq, "5"}
	if st, m := call(t, "POST", u+"/kv/x/cas", `{"from":1,"to":2}`, h...); st != 200 {
		t.Fatalf("first cas: %d %v", st, m)
	}
	mustOK(t, "PUT", u+"/kv/x", `{"value":1}`)
	// Retried: must not apply again (x stays 1), and answers with the original result.
	if st, m := call(t, "POST", u+"/kv/x/cas", `{"from":1,"to":2}`, h...); st != 200 {
		t.Fatalf("retried cas: %d %v, want the original 200", st, m)
	}
	if m := mustOK(t, "GET", u+"/kv/x", ""); m["value"] != float64(1) {
		t.Fatalf("x = %v after a retried cas, want 1 (applied once)", m["value"])
	}
}

// TestClockEndpoint sets, checks and resets the clock, and rejects bad bodies with a 400 naming the problem.
func TestClockEndpoint(t *testing.T) {
	c := newCluster(t, 1, nil)
	c.leader(10 * time.Second)
	u := c.url(0)
	n := c.nodes[0]
	wall0, mono0 := n.clock.Now(), n.clock.Mono()
	if st, m := call(t, "POST", u+"/admin/clock", `{"offset_ns":3000000000,"rate":4}`); st != 200 {
		t.Fatalf("set clock: %d %v", st, m)
	}
	_, m := call(t, "GET", u+"/admin/status", "")
	if m["clock_offset_ns"] != float64(3e9) || m["clock_rate"] != float64(4) || m["id"] != "n1" || m["leader"] != "n1" {
		t.Fatalf("status after clock set: %v", m)
	}
	if skew := n.clock.Now().Sub(wall0); skew < 3*time.Second || skew > 4*time.Second {
		t.Fatalf("wall clock moved %s after a +3s jump, want about 3s", skew)
	}
	time.Sleep(100 * time.Millisecond)
	if d := n.clock.Mono() - mono0; d < 350*time.Millisecond {
		t.Fatalf("monotonic clock advanced %s in 100ms real at rate 4, want >= 350ms", d)
	}
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
		msg, _ := m["error"].(string)
		if st != 400 || !strings.Contains(msg, tc.want) {
			t.Errorf("POST /admin/clock %s: %d %v, want 400 with %q", tc.body, st, m, tc.want)
		}
	}
	if st, _ := call(t, "POST", u+"/admin/clock", `{"offset_ns":0,"rate":1}`); st != 200 {
		t.Fatal("reset clock failed")
	}
	if skew := n.clock.Now().Sub(time.Now()); skew > 50*time.Millisecond || skew < -50*time.Millisecond {
		t.Fatalf("after reset the wall clock is %s off real time", skew)
	}
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
	if st == 200 || m["definite"] == true {
		t.Fatalf("write to a leader without a majority: %d %v; want an unknown outcome (no definite)", st, m)
	}
	// Now a lone node that never had a leader: nothing can be proposed, so the failure is definite.
	c2 := newCluster(t, 3, nil)
	c2.stop(1)
	c2.stop(2)
	st, m = call(t, "PUT", c2.url(0)+"/kv/a", `{"value":2}`)
	if st != 503 || m["definite"] != true || !strings.Contains(m["error"].(string), "no leader") {
		t.Fatalf("write with no leader known: %d %v; want 503 definite no leader", st, m)
	}
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
	if st != 409 || m["value"] != float64(5) {
		t.Fatalf("forwarded cas mismatch: %d %v", st, m)
	}
	st, m = call(t, "PUT", c.url(f)+"/kv/fw", `{"value":6}`, HeaderForwardedBy, "n9")
	if st != 503 || m["definite"] != true || !strings.Contains(m["error"].(string), "does not lead") {
		t.Fatalf("twice-forwarded request: %d %v", st, m)
	}
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
	if st != 503 || m["definite"] != true || !strings.Contains(m["error"].(string), "could not connect") {
		t.Fatalf("forward to an unreachable leader: %d %v; want 503 definite", st, m)
	}
	if m := mustOK(t, "GET", c.url(lead)+"/kv/fw", ""); m["value"] != float64(5) {
		t.Fatalf("fw = %v, want 5 (the refused forward changed nothing)", m["value"])
	}
}

// TestForgottenDuplicateIsUnknown: a retry whose original left kv's window may or may not have been applied, so the
// node answers it as unknown (504, definite false) and does not apply it again.
func TestForgottenDuplicateIsUnknown(t *testing.T) {
	c := newCluster(t, 1, nil)
	c.leader(10 * time.Second)
	u := c.url(0)
	for seq := 1; seq <= 70; seq++ {
		if st, m := call(t, "PUT", u+"/kv/d", fmt.Sprintf(`{"value":%d}`, seq), HeaderClient, "w1", HeaderSeq, fmt.Sprint(seq)); st != 200 {
			t.Fatalf("seq %d: %d %v", seq, st, m)
		}
	}
	st, m := call(t, "PUT", u+"/kv/d", `{"value":1}`, HeaderClient, "w1", HeaderSeq, "1")
	if st != 504 || m["definite"] != false || !strings.Contains(m["error"].(string), "duplicate") {
		t.Fatalf("retry of a forgotten seq: %d %v; want 504 unknown duplicate", st, m)
	}
	if m := mustOK(t, "GET", u+"/kv/d", ""); m["value"] != float64(70) {
		t.Fatalf("d = %v, want 70 (the old retry must not apply)", m["value"])
	}
}
