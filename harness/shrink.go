package harness

// This file shrinks a failing run's fault schedule, in the manner of delta debugging: it replays the run's seed
// with ever smaller schedules (faults removed, then shortened, then moved later) and keeps a change only when the
// run still fails. Failures are not always reproducible, so a try counts as failing when any of K repetitions is
// invalid.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/skeptic-dev/skeptic/internal/field"
	"github.com/skeptic-dev/skeptic/nemesis"
)

// ShrinkConfig says what to shrink and how much to spend.
type ShrinkConfig struct {
	// RunDir is the failing run's folder (its config.json holds the seed and the schedule).
	RunDir string
	// Repeats is K: a try fails when any of its K runs is invalid.
	Repeats int
	// MaxRuns and Budget bound the runs and the time spent; the best schedule so far is kept when either ends.
	MaxRuns int
	Budget  time.Duration
	// MinFault is the shortest a fault is cut to (default 1s).
	MinFault time.Duration
	// Store is where the tries' run folders go; Dir is where schedule.json and shrink.json are written.
	Store, Dir string
	// Out receives a line per try.
	Out io.Writer
}

// ShrinkTry is one schedule tried.
type ShrinkTry struct {
	Change   string    `json:"change"`
	Faults   int       `json:"faults"`
	Failed   bool      `json:"failed"`
	Verdicts []Verdict `json:"verdicts"`
}

// ShrinkResult is what Shrink found.
type ShrinkResult struct {
	// Original and Smallest are the schedules at the start and at the end.
	Original nemesis.Schedule `json:"original"`
	Smallest nemesis.Schedule `json:"smallest"`
	// Tries lists every schedule tried, in order; Runs counts the runs made.
	Tries []ShrinkTry `json:"tries"`
	Runs  int         `json:"runs"`
	// FinalFailures of FinalRuns runs of the smallest schedule were invalid (it is run K more times at the end).
	FinalFailures int `json:"final_failures"`
	FinalRuns     int `json:"final_runs"`
	// Schedule is the path of the smallest schedule, a --nemesis-schedule file; Config is the run's config.json
	// with that schedule, and Command re-runs it.
	Schedule string `json:"schedule"`
	Config   string `json:"config"`
	Command  string `json:"command"`
	// Exhausted says which budget ended the search, if one did.
	Exhausted string `json:"exhausted,omitempty"`
}

// fault is one fault of a schedule: the op that starts it and, when the schedule has one, the op that ends it.
type fault struct {
	start Op
	end   *Op
}

// Op is nemesis.Op, named here for brevity.
type Op = nemesis.Op

// ends maps each fault-starting function to the function that ends it.
var ends = map[string]string{
	nemesis.FStartPartition: nemesis.FStopPartition,
	nemesis.FKill:           nemesis.FStart,
	nemesis.FPause:          nemesis.FResume,
	nemesis.FClockBump:      nemesis.FClockReset,
	nemesis.FClockSkew:      nemesis.FClockReset,
	nemesis.FClockStrobe:    nemesis.FClockReset,
	nemesis.FStartLoss:      nemesis.FStopLoss,
	nemesis.FStartDelay:     nemesis.FStopDelay,
}

// faultsOf pairs each fault-starting op with the next op that ends it; an op that ends nothing it started stands
// alone.
func faultsOf(s nemesis.Schedule) []fault {
	var out []fault
	used := make([]bool, len(s))
	for i, op := range s {
		if used[i] {
			continue
		}
		used[i] = true
		f := fault{start: op}
		if end, ok := ends[op.F]; ok {
			for j := i + 1; j < len(s); j++ {
				if !used[j] && s[j].F == end {
					e := s[j]
					f.end = &e
					used[j] = true
					break
				}
			}
		}
		out = append(out, f)
	}
	return out
}

// scheduleOf lays faults out as a schedule in time order.
func scheduleOf(fs []fault) nemesis.Schedule {
	var s nemesis.Schedule
	for _, f := range fs {
		s = append(s, f.start)
		if f.end != nil {
			s = append(s, *f.end)
		}
	}
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].At < s[j-1].At; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}

// Shrink replays the failing run in cfg.RunDir with smaller and smaller schedules and writes the smallest one
// that still fails to cfg.Dir/schedule.json, with cfg.Dir/shrink.json reporting each try.
func Shrink(ctx context.Context, cfg ShrinkConfig) (ShrinkResult, error) {
	t, err := LoadConfig(filepath.Join(cfg.RunDir, ConfigFile))
	if err != nil {
		fe, _ := field.As(err) // LoadConfig's errors are all for "config": the run folder's config.json
		return ShrinkResult{}, field.Errorf("shrink.run_dir", "%s", fe.Msg)
	}
	if len(t.Nemesis.Schedule) == 0 {
		return ShrinkResult{}, field.Errorf("shrink.run_dir", "%s ran no fault schedule: nothing to shrink", cfg.RunDir)
	}
	if cfg.Repeats < 1 {
		cfg.Repeats = 1
	}
	if cfg.MinFault <= 0 {
		cfg.MinFault = time.Second
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.Store != "" {
		t.Store = cfg.Store
	}
	t.Nemesis = NemesisConfig{Schedule: t.Nemesis.Schedule}
	t.Name = t.TestName() + "-shrink"
	t.TestCount = 1
	t.LeaveDBRunning = false
	// Validated once here; the tries change only the schedule, which each run checks against the nodes.
	if t, err = prepare(t); err != nil {
		return ShrinkResult{}, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return ShrinkResult{}, field.Errorf("shrink.dir", "%v", err)
	}
	res := ShrinkResult{Original: t.Nemesis.Schedule}
	deadline := time.Now().Add(cfg.Budget)
	spent := func() string {
		switch {
		case cfg.MaxRuns > 0 && res.Runs+cfg.Repeats > cfg.MaxRuns:
			return fmt.Sprintf("the run budget (%d runs)", cfg.MaxRuns)
		case cfg.Budget > 0 && time.Now().After(deadline):
			return fmt.Sprintf("the time budget (%s)", cfg.Budget)
		case ctx.Err() != nil:
			return "an interrupt"
		}
		return ""
	}
	// fails runs s up to K times and reports whether any run was invalid.
	fails := func(change string, fs []fault) (bool, error) {
		try := ShrinkTry{Change: change, Faults: len(fs)}
		ti := t
		ti.Nemesis.Schedule = scheduleOf(fs)
		for k := 0; k < cfg.Repeats && !try.Failed; k++ {
			ti.Out = io.Discard
			r, err := runPrepared(ctx, ti)
			res.Runs++
			if IsConfigError(err) || errors.Is(err, ErrInterrupted) {
				return false, err
			}
			try.Verdicts = append(try.Verdicts, r.Verdict)
			try.Failed = err == nil && r.Verdict == Invalid
		}
		res.Tries = append(res.Tries, try)
		fmt.Fprintf(cfg.Out, "try %d: %-40s %d faults: %s %v\n", len(res.Tries), change, len(fs), map[bool]string{true: "fails", false: "passes"}[try.Failed], try.Verdicts)
		_ = res.write(cfg.Dir)
		return try.Failed, nil
	}

	cur := faultsOf(t.Nemesis.Schedule)
	ok, err := fails("the original schedule", cur)
	if err != nil {
		return res, err
	}
	if !ok {
		return res, fmt.Errorf("the original schedule did not fail in %d runs: nothing to shrink (try more --repeats)", cfg.Repeats)
	}
	// 1. Remove faults: chunks of n, then of n/2, ... then one at a time (ddmin's complements).
	for n := len(cur) / 2; n >= 1 && spent() == ""; n /= 2 {
		for i := 0; i+n <= len(cur) && len(cur) > 1 && spent() == ""; {
			cand := append(append([]fault(nil), cur[:i]...), cur[i+n:]...)
			ok, err := fails(fmt.Sprintf("remove faults %d..%d", i+1, i+n), cand)
			if err != nil {
				return res, err
			}
			if ok {
				cur = cand
				n = min(n, max(1, len(cur)/2))
			} else {
				i += n
			}
		}
	}
	// 2. Shorten each fault: halve it while it still fails.
	for i := range cur {
		for cur[i].end != nil && spent() == "" {
			d := cur[i].end.At.D() - cur[i].start.At.D()
			if d/2 < cfg.MinFault {
				break
			}
			cand := append([]fault(nil), cur...)
			e := *cand[i].end
			e.At = nemesis.Duration(cand[i].start.At.D() + d/2)
			cand[i].end = &e
			ok, err := fails(fmt.Sprintf("shorten fault %d to %s", i+1, d/2), cand)
			if err != nil {
				return res, err
			}
			if !ok {
				break
			}
			cur = cand
		}
	}
	// 3. Move each fault later, by half of what is left of the run after it, while it still fails.
	limit := t.TimeLimit.D()
	for i := range cur {
		for spent() == "" {
			last := cur[i].start.At.D()
			if cur[i].end != nil {
				last = cur[i].end.At.D()
			}
			slack := (limit - last) / 2
			if slack < cfg.MinFault {
				break
			}
			cand := append([]fault(nil), cur...)
			s := cand[i].start
			s.At = nemesis.Duration(s.At.D() + slack)
			cand[i].start = s
			if cand[i].end != nil {
				e := *cand[i].end
				e.At = nemesis.Duration(e.At.D() + slack)
				cand[i].end = &e
			}
			ok, err := fails(fmt.Sprintf("move fault %d later by %s", i+1, slack), cand)
			if err != nil {
				return res, err
			}
			if !ok {
				break
			}
			cur = cand
		}
	}
	res.Exhausted = spent()
	res.Smallest = scheduleOf(cur)
	// How often does the smallest schedule fail? K more runs say.
	ti := t
	ti.Nemesis.Schedule = res.Smallest
	for k := 0; k < cfg.Repeats && ctx.Err() == nil; k++ {
		ti.Out = io.Discard
		r, err := runPrepared(ctx, ti)
		res.Runs++
		res.FinalRuns++
		if err == nil && r.Verdict == Invalid {
			res.FinalFailures++
		}
	}
	res.Schedule = filepath.Join(cfg.Dir, "schedule.json")
	b, err := json.MarshalIndent(res.Smallest, "", "  ")
	if err != nil {
		return res, err
	}
	if err := os.WriteFile(res.Schedule, append(b, '\n'), 0o644); err != nil {
		return res, setupErr("write schedule.json", err)
	}
	t.Nemesis = NemesisConfig{Schedule: res.Smallest}
	t.Name = ""
	res.Config = filepath.Join(cfg.Dir, ConfigFile)
	if err := writeJSON(res.Config, t); err != nil {
		return res, setupErr("write config.json", err)
	}
	res.Command = "skeptic run --config " + res.Config
	if err := res.write(cfg.Dir); err != nil {
		return res, setupErr("write shrink.json", err)
	}
	return res, nil
}

func (r ShrinkResult) write(dir string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "shrink.json"), append(b, '\n'), 0o644)
}
