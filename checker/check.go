package checker

import (
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/workloads"
)

// Verdict is the three-valued outcome of a check.
type Verdict string

// The verdicts.
const (
	// Valid means linearizable: Porcupine found a linearization.
	Valid Verdict = "valid"
	// Invalid means not linearizable: no linearization exists.
	Invalid Verdict = "invalid"
	// Unknown means the check ran out of time before deciding.
	Unknown Verdict = "unknown"
)

// ExitCode is the process exit code for v, as Jepsen's: 0 valid, 1 invalid, 2 unknown.
func (v Verdict) ExitCode() int {
	switch v {
	case Valid:
		return 0
	case Invalid:
		return 1
	}
	return 2
}

func verdictOf(r porcupine.CheckResult) Verdict {
	switch r {
	case porcupine.Ok:
		return Valid
	case porcupine.Illegal:
		return Invalid
	}
	return Unknown
}

// Options configures a check.
type Options struct {
	// Timeout bounds the whole check; 0 means no limit. A key not decided in time is Unknown.
	Timeout time.Duration `json:"timeout_ns"`
	// Visualize keeps, for every key found Invalid, what Result.WriteVisualizations needs: such a key is
	// checked a second time, verbosely (Porcupine then records partial linearizations, at about half speed),
	// within the same deadline. A key whose second check does not finish in time has no visualization.
	Visualize bool `json:"visualize"`
	// Workers is how many keys are checked at once; 0 means GOMAXPROCS.
	Workers int `json:"workers"`
	// FailCAS is how a failed cas that found another value is read ("" is history.FailCASObserved): as an
	// observation that the register was not its from value (a fail with Error history.ErrCASMismatch, as
	// skeptic's client and Jepsen's etcd client report it), or, with history.FailCASNeverHappened, as an
	// operation that never happened, which the check drops, as Knossos does. CheckFile also passes it to the
	// Jepsen importers.
	FailCAS history.FailCAS `json:"fail_cas,omitempty"`
	// Format is the format CheckFile reads the file as; "" (history.FormatAuto) tells it from the content.
	Format history.Format `json:"format,omitempty"`
}

// KeyResult is the verdict on one key.
type KeyResult struct {
	// Key is the register's key.
	Key string `json:"key"`
	// Ops is the number of operations checked.
	Ops int `json:"ops"`
	// Pruned is the number of unknown operations left out of the check because nothing saw their values (see
	// pruneUnobserved); leaving them out changes no verdict.
	Pruned int `json:"pruned,omitempty"`
	// Verdict is the key's verdict.
	Verdict Verdict `json:"verdict"`
	// Duration is how long Porcupine took to decide this key (0 if the time was up before it started); a
	// second, verbose check for the visualization is not included.
	Duration time.Duration `json:"duration_ns"`
	// Visualization is the file name WriteVisualizations wrote for this key, if any.
	Visualization string `json:"visualization,omitempty"`
}

// Result is the verdict on a history, with per-key detail. It marshals to the JSON of results.json.
type Result struct {
	// Verdict is Invalid if any key is, else Unknown if any key is, else Valid (also for an empty history).
	Verdict Verdict `json:"verdict"`
	// Keys is the per-key verdicts, keys in order of first invocation.
	Keys []KeyResult `json:"keys"`
	// Duration is the wall time of the whole check, conversion included.
	Duration time.Duration `json:"duration_ns"`
	// Stats counts how the events were used.
	Stats Stats `json:"stats"`
	// Warnings says what of the input was left out, such as a torn final line of a history file.
	Warnings []string `json:"warnings,omitempty"`

	vis       map[string]porcupine.LinearizationInfo // for Invalid keys, when Options.Visualize
	visualize bool                                   // Options.Visualize
}

// Failed returns the keys whose verdict is Invalid.
func (r *Result) Failed() []KeyResult {
	var out []KeyResult
	for _, k := range r.Keys {
		if k.Verdict == Invalid {
			out = append(out, k)
		}
	}
	return out
}

// Check decides whether events are linearizable, as the package doc describes. It returns an error, and no
// verdict, for bad options or a malformed history; the error names the event's index and what was wrong.
func Check(events []history.Event, opts Options) (Result, error) {
	start := time.Now()
	failCAS, err := checkOptions(opts)
	if err != nil {
		return Result{}, err
	}
	keys, stats, err := operations(events, failCAS)
	if err != nil {
		return Result{}, err
	}
	return checkConverted(keys, stats, opts, start), nil
}

// checkOptions validates opts and returns its reading of failed cas.
func checkOptions(opts Options) (history.FailCAS, error) {
	if opts.Timeout < 0 {
		return "", fmt.Errorf("checker: --timeout: must not be negative, got %v", opts.Timeout)
	}
	if opts.Workers < 0 {
		return "", fmt.Errorf("checker: workers must not be negative, got %d", opts.Workers)
	}
	failCAS, err := history.ParseFailCAS(string(opts.FailCAS))
	if err != nil {
		return "", fmt.Errorf("checker: %w", err)
	}
	return failCAS, nil
}

// checkConverted prunes and checks converted keys; start is when the whole check began.
func checkConverted(keys []KeyOps, stats Stats, opts Options, start time.Time) Result {
	pruned := make([]int, len(keys))
	for i := range keys {
		keys[i].Ops, pruned[i] = pruneUnobserved(keys[i].Ops)
		stats.Pruned += pruned[i]
	}
	res := checkKeys(keys, opts, start)
	for i := range res.Keys {
		res.Keys[i].Pruned = pruned[i]
	}
	res.Stats = stats
	res.Duration = time.Since(start)
	return res
}

// checkKeys runs one Porcupine check a key on a pool of workers, all within the deadline. Smaller keys go
// first: under a deadline, that decides as many keys as possible before a hard one takes the rest.
func checkKeys(keys []KeyOps, opts Options, start time.Time) Result {
	workers := opts.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var deadline time.Time
	if opts.Timeout > 0 {
		deadline = start.Add(opts.Timeout)
	}
	model := workloads.RegisterModel().Porcupine()
	res := Result{Keys: make([]KeyResult, len(keys)), Verdict: Valid, visualize: opts.Visualize}
	infos := make([]*porcupine.LinearizationInfo, len(keys))

	order := make([]int, len(keys))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return len(keys[order[a]].Ops) < len(keys[order[b]].Ops) })
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(keys)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				kr := KeyResult{Key: keys[i].Key, Ops: len(keys[i].Ops), Verdict: Unknown}
				timeout := time.Duration(0)
				if !deadline.IsZero() {
					timeout = time.Until(deadline)
				}
				if deadline.IsZero() || timeout > 0 {
					t0 := time.Now()
					kr.Verdict = verdictOf(porcupine.CheckOperationsTimeout(model, keys[i].Ops, timeout))
					kr.Duration = time.Since(t0)
					if opts.Visualize && kr.Verdict == Invalid {
						infos[i] = explain(model, keys[i].Ops, deadline)
					}
				}
				res.Keys[i] = kr
			}
		}()
	}
	for _, i := range order {
		next <- i
	}
	close(next)
	wg.Wait()

	for i, k := range res.Keys {
		switch {
		case k.Verdict == Invalid:
			res.Verdict = Invalid
		case k.Verdict == Unknown && res.Verdict == Valid:
			res.Verdict = Unknown
		}
		if infos[i] != nil {
			if res.vis == nil {
				res.vis = map[string]porcupine.LinearizationInfo{}
			}
			res.vis[k.Key] = *infos[i]
		}
	}
	return res
}

// explain checks an Invalid key again, verbosely, for the visualization. Most keys are valid, and the verbose
// search is about twice as slow, so only failed keys pay for it. It returns nil if the deadline comes first.
func explain(model porcupine.Model, ops []porcupine.Operation, deadline time.Time) *porcupine.LinearizationInfo {
	timeout := time.Duration(0)
	if !deadline.IsZero() {
		if timeout = time.Until(deadline); timeout <= 0 {
			return nil
		}
	}
	r, info := porcupine.CheckOperationsVerbose(model, ops, timeout)
	if r != porcupine.Illegal {
		return nil
	}
	return &info
}

// ErrNoVisualizations is returned by WriteVisualizations when keys failed but the check ran without
// Options.Visualize.
var ErrNoVisualizations = errors.New("checker: keys failed, but the check ran without Options.Visualize")

// WriteVisualizations writes Porcupine's HTML visualization of each Invalid key to dir/<safe-key>.html,
// records each file name in its KeyResult, and returns the paths written. A key whose verbose re-check ran out
// of time has no visualization. Keys are made safe for file names:
// characters other than letters, digits, '.', '_' and '-' become '_', and a key so changed gets a short hash
// of the original so that two keys never share a file.
func (r *Result) WriteVisualizations(dir string) ([]string, error) {
	if len(r.Failed()) > 0 && !r.visualize {
		return nil, ErrNoVisualizations
	}
	if len(r.vis) == 0 {
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("checker: %w", err)
	}
	model := workloads.RegisterModel().Porcupine()
	model.DescribeOperationMetadata = func(m interface{}) string {
		if mm, ok := m.(Meta); ok {
			return mm.String()
		}
		return fmt.Sprint(m)
	}
	var paths []string
	for i, k := range r.Keys {
		info, ok := r.vis[k.Key]
		if !ok {
			continue
		}
		name := SafeName(k.Key) + ".html"
		path := filepath.Join(dir, name)
		if err := porcupine.VisualizePath(model, info, path); err != nil {
			return paths, fmt.Errorf("checker: visualization of key %q: %w", k.Key, err)
		}
		r.Keys[i].Visualization = name
		paths = append(paths, path)
	}
	return paths, nil
}

// SafeName turns a key into a file name (without extension) that is safe on any file system and distinct for
// distinct keys.
func SafeName(key string) string {
	var b strings.Builder
	changed := key == "" || key[0] == '.' || len(key) > 100
	for _, c := range key {
		if c < 128 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
			changed = true
		}
	}
	s := b.String()
	if len(s) > 100 {
		s = s[:100]
	}
	if !changed {
		return s
	}
	h := fnv.New32a()
	h.Write([]byte(key))
	return fmt.Sprintf("key_%s-%08x", s, h.Sum32())
}

// CheckFile reads the history at path and checks it. The file is read as opts.Format: skeptic's
// history.jsonl, a Jepsen history.edn or a Jepsen log, told from its content when opts.Format is "" (see
// history.DetectFormat); the Jepsen importers read a failed cas as opts.FailCAS says. Errors name the file,
// and the line for a bad line. A history.jsonl is converted as it is read (history.ScanFileFormat), so its
// events are never all in memory; Result.Duration includes the reading.
func CheckFile(path string, opts Options) (Result, error) {
	start := time.Now()
	failCAS, err := checkOptions(opts)
	if err != nil {
		return Result{}, err
	}
	conv := newConverter(failCAS)
	var convErr error
	_, err = history.ScanFileFormat(path, opts.Format, history.JepsenOptions{FailCAS: opts.FailCAS}, func(e history.Event) error {
		convErr = conv.add(e)
		return convErr
	})
	if convErr != nil {
		return Result{}, fmt.Errorf("%s: %w", path, convErr)
	}
	var warnings []string
	if errors.Is(err, history.ErrTornTail) {
		// What a crash mid-write leaves: every whole line before it is checked; an operation whose completion
		// was on the torn line counts as unknown, as an operation the crash cut short.
		warnings = append(warnings, err.Error()+"; checked the events before it")
		err = nil
	}
	if err != nil {
		return Result{}, err
	}
	keys, stats := conv.finish()
	res := checkConverted(keys, stats, opts, start)
	res.Warnings = warnings
	return res, nil
}
