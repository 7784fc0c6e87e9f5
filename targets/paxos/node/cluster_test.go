package node

import (
	"fmt"
	"testing"
	"time"
)

// TestClusterBasics: writes, reads and cas through every node of a real 3-node loopback cluster, including
// forwarding from followers to the leader.
func TestClusterBasics(t *testing.T) {
	c := newCluster(t, 3, nil)
	lead := c.leader(10 * time.Second)
	for i := range c.nodes {
		key := fmt.Sprintf("k%d", i)
		if m := mustOK(t, "GET", c.url(i)+"/kv/"+key, ""); m["value"] != nil {
			t.Fatalf("fresh key %s read %v, want null", key, m["value"])
		}
		mustOK(t, "PUT", c.url(i)+"/kv/"+key, `{"value":7}`)
		for j := range c.nodes {
			if m := mustOK(t, "GET", c.url(j)+"/kv/"+key, ""); m["value"] != float64(7) {
				t.Fatalf("read %s through n%d after write through n%d: %v, want 7", key, j+1, i+1, m["value"])
			}
		}
		mustOK(t, "POST", c.url(i)+"/kv/"+key+"/cas", `{"from":7,"to":8}`)
		st, m := call(t, "POST", c.url((i+1)%3)+"/kv/"+key+"/cas", `{"from":7,"to":9}`)
		if st != 409 || m["error"] != "cas-mismatch" || m["value"] != float64(8) {
			t.Fatalf("stale cas: status %d %v, want 409 cas-mismatch value 8", st, m)
		}
	}
	st, m := call(t, "POST", c.url(lead)+"/kv/never/cas", `{"from":1,"to":2}`)
	if st != 409 || m["error"] != "cas-mismatch" || m["value"] != nil {
		t.Fatalf("cas on a missing key: status %d %v, want 409 with value null", st, m)
	}
}
