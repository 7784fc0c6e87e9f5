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

	"github.com/skeptic-dev/skeptic/nemesis"
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

// ParseNemesis reads the nemesis flags into options with their defaults filled in. A strategy flag (--partition
// majority) enables its fault kind even when --nemesis does not name it. Errors are *ConfigError naming the flag.
func ParseNemesis(f nemesis.Flags) (nemesis.Options, error) {
	kinds := map[string]string{nemesis.FaultPartition: f.Partition, nemesis.FaultKill: f.Kill,
		nemesis.FaultPause: f.Pause, nemesis.FaultClock: f.Clock}
	for _, k := range nemesis.KnownFaults {
		if kinds[k] != "" && f.Nemesis != "none" {
			f.Nemesis = strings.TrimPrefix(f.Nemesis+","+k, ",")
		}
	}
	o, err := nemesis.ParseOptions(f)
	if err != nil {
		return nemesis.Options{}, asConfigError(err)
	}
	return o, nil
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
			// Said on Run's second line: its first one is always the runtime's.
			ti.of = fmt.Sprintf(" (test %d of %d)", i+1, t.TestCount)
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
