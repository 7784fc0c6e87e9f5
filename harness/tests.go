package harness

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// ParseConcurrency reads --concurrency: an integer, or Jepsen's "Kn", K times the number of nodes.
func ParseConcurrency(s string, nodes int) (int, error) {
	s = strings.TrimSpace(s)
	if strings.HasSuffix(s, "n") {
		k, err := strconv.Atoi(strings.TrimSuffix(s, "n"))
		if err != nil || k < 1 {
			return 0, configErrorf("--concurrency", "%q is neither an integer nor Kn (K times --nodes, such as 2n)", s)
		}
		return k * nodes, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, configErrorf("--concurrency", "%q is neither an integer nor Kn (K times --nodes, such as 2n)", s)
	}
	return n, nil
}

// ParseFaults reads --nemesis (and the single-fault flags): names from KnownFaults, "all" for every one, and
// "none" for none. It drops duplicates and keeps KnownFaults' order.
func ParseFaults(names []string) ([]string, error) {
	want := map[string]bool{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		switch {
		case n == "" || n == "none":
		case n == "all":
			for _, k := range KnownFaults {
				want[k] = true
			}
		case contains(KnownFaults, n):
			want[n] = true
		default:
			return nil, configErrorf("--nemesis", "unknown fault %q (want a comma-separated list of %s; or all, or none)", n, strings.Join(KnownFaults, ", "))
		}
	}
	var out []string
	for _, k := range KnownFaults {
		if want[k] {
			out = append(out, k)
		}
	}
	return out, nil
}

// RandomSeed returns a fresh seed for a run that was given none.
func RandomSeed() int64 {
	var b [8]byte
	if _, err := crand.Read(b[:]); err != nil {
		return time.Now().UnixNano()
	}
	return int64(binary.LittleEndian.Uint64(b[:]) >> 1)
}

// RunTests runs t TestCount times, one after another, and returns every result and the worst exit code
// (WorstExit). Run i uses seed t.Seed+i, so the first run uses t.Seed itself, and each run's config.json
// records the seed it used. It stops early when ctx ends. The error joins the errors of the runs that failed.
func RunTests(ctx context.Context, t Test) ([]Result, int, error) {
	if err := t.Validate(); err != nil {
		return nil, ExitBadConfig, err
	}
	var (
		results []Result
		codes   []int
		errs    []error
	)
	for i := 0; i < t.TestCount; i++ {
		ti := t
		ti.Seed = t.Seed + int64(i)
		if t.TestCount > 1 {
			ti.printf("test %d of %d\n", i+1, t.TestCount)
		}
		res, err := Run(ctx, ti)
		results = append(results, res)
		codes = append(codes, ExitCode(res.Verdict, err))
		if err != nil {
			errs = append(errs, err)
		}
		if ctx.Err() != nil || errors.Is(err, ErrInterrupted) {
			break
		}
		var ce *ConfigError
		if errors.As(err, &ce) {
			break
		}
	}
	if t.TestCount > 1 {
		t.printf("%d runs:", len(results))
		for i, r := range results {
			t.printf(" #%d %s (exit %d)", i+1, r.Verdict, codes[i])
		}
		t.printf("\n")
	}
	return results, WorstExit(codes...), errors.Join(errs...)
}

func (t Test) printf(format string, args ...any) { fmt.Fprintf(t.out(), format, args...) }

// out is where the run's console output goes.
func (t Test) out() io.Writer {
	if t.Out == nil {
		return os.Stdout
	}
	return t.Out
}
