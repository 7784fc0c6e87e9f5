package harness

// --test-count: running one test several times.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// RunTests runs t TestCount times, one after another, and returns every result and the worst exit code
// (WorstExit). Run i uses seed t.Seed+i, so the first run uses t.Seed itself, and each run's config.json
// records the seed it used. It stops early when ctx ends. The error joins the errors of the runs that failed.
func RunTests(ctx context.Context, t Test) ([]Result, int, error) {
	t, err := prepare(t)
	if err != nil {
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
		res, err := runPrepared(ctx, ti)
		results = append(results, res)
		codes = append(codes, ExitCode(res.Verdict, err))
		if err != nil {
			errs = append(errs, err)
		}
		if ctx.Err() != nil || errors.Is(err, ErrInterrupted) {
			break
		}
		if IsConfigError(err) {
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
