package testbin

import (
	"context"
	"testing"
	"time"

	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/targets"
)

// WriteRead writes 42 to key "k" through the first node and reads it back through the last, retrying each for
// up to 20 s in all while the cluster elects a leader. It fails tb unless the read returns 42.
func WriteRead(tb testing.TB, target targets.Target, nodes []targets.Node) {
	tb.Helper()
	w, err := target.NewClient(nodes[0])
	if err != nil {
		tb.Fatal(err)
	}
	defer w.Close()
	r, err := target.NewClient(nodes[len(nodes)-1])
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	deadline := time.Now().Add(20 * time.Second)
	retry := func(c targets.Client, op targets.Op) targets.Outcome {
		var last targets.Outcome
		for time.Now().Before(deadline) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			last = c.Do(ctx, op)
			cancel()
			if last.Type == history.Ok {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		return last
	}
	if out := retry(w, targets.Op{F: targets.FWrite, Key: "k", Value: 42}); out.Type != history.Ok {
		tb.Fatalf("write through %s never succeeded: %+v", nodes[0].ID, out)
	}
	if out := retry(r, targets.Op{F: targets.FRead, Key: "k"}); out.Type != history.Ok || out.Value == nil || *out.Value != 42 {
		tb.Fatalf("read through %s: %+v, want 42", nodes[len(nodes)-1].ID, out)
	}
}
