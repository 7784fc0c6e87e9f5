package node

import (
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSoakBoundedMemory drives a 3-node cluster at about 1,000 ops/s (writes, cas and reads over 1,000 keys,
// through every node) for SKEPTIC_SOAK (a duration, e.g. 2m; the test is skipped without it), and checks that
// memory, log size and pending requests stay bounded: the heap after the run is within 2x (+16 MiB) of the heap
// a quarter of the way in.
func TestSoakBoundedMemory(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("SKEPTIC_SOAK"))
	if err != nil || d <= 0 {
		t.Skip("set SKEPTIC_SOAK=2m (say) to run the soak test")
	}
	const compact = 1 << 20
	c := newCluster(t, 3, func(cfg *Config) { cfg.CompactBytes = compact; cfg.Log = io.Discard })
	c.leader(10 * time.Second)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 5 * time.Second}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[int]int{}
	const workers = 16
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(w)))
			tick := time.NewTicker(workers * time.Millisecond) // workers x 1/16ms = 1,000 ops/s in all
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				base := c.url(rng.Intn(3))
				key := fmt.Sprintf("/kv/s%d", rng.Intn(1000))
				var req *http.Request
				switch rng.Intn(3) {
				case 0:
					req, _ = http.NewRequest("PUT", base+key, strings.NewReader(fmt.Sprintf(`{"value":%d}`, rng.Intn(5))))
				case 1:
					req, _ = http.NewRequest("POST", base+key+"/cas", strings.NewReader(fmt.Sprintf(`{"from":%d,"to":%d}`, rng.Intn(5), rng.Intn(5))))
				default:
					req, _ = http.NewRequest("GET", base+key, nil)
				}
				st := -1
				if resp, err := hc.Do(req); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					st = resp.StatusCode
				}
				mu.Lock()
				counts[st]++
				mu.Unlock()
			}
		}(w)
	}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse
	}
	start := time.Now()
	var early uint64
	for time.Since(start) < d {
		time.Sleep(min(10*time.Second, d/8))
		h := heap()
		if early == 0 && time.Since(start) >= d/4 {
			early = h
			writeHeapProfile(t, "early")
		}
		st := c.nodes[0].Status()
		t.Logf("%5.0fs heap %5.1f MiB, n1 applied %d snapshot %d log %d B pending %d", time.Since(start).Seconds(), float64(h)/(1<<20), st.Applied, st.Snapshot, st.LogBytes, st.Pending)
	}
	close(stop)
	wg.Wait()
	time.Sleep(200 * time.Millisecond)
	final := heap()
	writeHeapProfile(t, "final")
	total := 0
	for _, n := range counts {
		total += n
	}
	t.Logf("%d requests in %s (%.0f/s), by status %v; heap at 1/4 %.1f MiB, at the end %.1f MiB",
		total, d, float64(total)/d.Seconds(), counts, float64(early)/(1<<20), float64(final)/(1<<20))
	require.LessOrEqual(t, final, 2*early+16<<20, "heap grew from %d bytes", early)
	for i, n := range c.nodes {
		st := n.Status()
		assert.Zero(t, st.Pending, "n%d has requests pending after the load stopped", i+1)
		assert.LessOrEqual(t, st.LogBytes, int64(3*compact), "n%d log, compaction threshold %d", i+1, compact)
	}
	assert.GreaterOrEqual(t, counts[200]+counts[409], total*9/10, "requests that succeeded, of %d: %v", total, counts)
}

// writeHeapProfile writes a heap profile to $SKEPTIC_SOAK_PPROF/<name>.pprof when that variable is set, to compare
// with go tool pprof -diff_base.
func writeHeapProfile(t *testing.T, name string) {
	dir := os.Getenv("SKEPTIC_SOAK_PPROF")
	if dir == "" {
		return
	}
	f, err := os.Create(filepath.Join(dir, name+".pprof"))
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, pprof.WriteHeapProfile(f))
}
