package checker

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/skeptic-dev/skeptic/history"
)

// FuzzCheck feeds arbitrary histories to Check: it must return a verdict or an error, never panic or hang.
func FuzzCheck(f *testing.F) {
	i := history.Int
	for _, h := range []*hist{
		new(hist).write(0, "a", 1).read(1, "a", i(1)),
		new(hist).write(0, "a", 1).inv(1, "cas", "a", history.Pair(1, 2)).fail(1, "cas", "a", i(1), history.ErrCASMismatch),
		new(hist).inv(0, "write", "a", i(1)).info(0, "write", "a", i(1)).read(1, "a", i(1)),
	} {
		var b strings.Builder
		for _, e := range h.ev {
			line, err := json.Marshal(e)
			if err != nil {
				f.Fatal(err)
			}
			b.Write(line)
			b.WriteByte('\n')
		}
		f.Add(b.String())
	}
	f.Fuzz(func(t *testing.T, in string) {
		events, err := history.Read(strings.NewReader(in), "f")
		if err != nil {
			return
		}
		start := time.Now()
		res, err := Check(events, Options{Timeout: 200 * time.Millisecond, Visualize: true})
		if time.Since(start) > 5*time.Second {
			t.Fatalf("Check took %v", time.Since(start))
		}
		if err != nil {
			return
		}
		if _, err := res.WriteVisualizations(t.TempDir()); err != nil {
			t.Fatal(err)
		}
	})
}
