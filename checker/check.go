package checker

import (
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"runtime"
	"slices"
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
	early     int                                    // keys decided while the history was still read
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
	s := newSession(failCAS, opts, start)
	for _, e := range events {
		if err := s.conv.add(e); err != nil {
			s.abort()
			return Result{}, err
		}
	}
	return s.finish(), nil
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

// speculateQuiet is the converter's quietAfter in a check: a key with no open invocation and no event in this
// many events is checked on the side while the history is still read (and converted), so that reading and
// checking overlap. A key that sees more events afterwards is simply checked again later; only a check of all
// of a key's operations counts, so the verdict is the same as without it (TestSpeculationSameResult). 0 turns
// it off.
var speculateQuiet = 4096

// session is one check: a converter, fed events, and workers that check the keys it finds quiet meanwhile.
type session struct {
	conv     *converter
	opts     Options
	start    time.Time
	deadline time.Time
	model    porcupine.Model
	jobs     chan specJob
	wg       sync.WaitGroup
	mu       sync.Mutex
	early    map[int]specResult // key index -> check of its first n operations
}

type specJob struct {
	idx int
	ops []porcupine.Operation
}

type specResult struct {
	n        int // operations checked, before pruning
	ops      int // after pruning
	pruned   int
	verdict  Verdict
	duration time.Duration
}

func newSession(failCAS history.FailCAS, opts Options, start time.Time) *session {
	s := &session{conv: newConverter(failCAS), opts: opts, start: start, model: keyModel()}
	if opts.Timeout > 0 {
		s.deadline = start.Add(opts.Timeout)
	}
	if speculateQuiet <= 0 {
		return s
	}
	s.early = map[int]specResult{}
	s.jobs = make(chan specJob, 64)
	s.conv.quietAfter = speculateQuiet
	s.conv.onQuiet = func(idx int, ops []porcupine.Operation) { s.jobs <- specJob{idx, ops} }
	for range s.workers() {
		s.wg.Go(func() {
			for j := range s.jobs {
				s.speculate(j)
			}
		})
	}
	return s
}

// keyModel is the register model for checking one key's operations: without the partition by key, which
// would only copy a key's operations into a partition of their own (the same operations, in the same order)
// and build a map to do so, on every check.
func keyModel() porcupine.Model {
	m := workloads.RegisterModel().Porcupine()
	m.Partition = nil
	return m
}

func (s *session) workers() int {
	if s.opts.Workers > 0 {
		return s.opts.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// speculate checks the operations a key had when it went quiet. Only a valid verdict is kept: a key that
// failed is checked again by finish, which also explains it when asked.
func (s *session) speculate(j specJob) {
	timeout := time.Duration(0)
	if !s.deadline.IsZero() {
		if timeout = time.Until(s.deadline); timeout <= 0 {
			return
		}
	}
	kept, pruned := pruneUnobserved(j.ops)
	t0 := time.Now()
	v := verdictOf(porcupine.CheckOperationsTimeout(s.model, kept, timeout))
	d := time.Since(t0)
	if v != Valid {
		return
	}
	s.mu.Lock()
	s.early[j.idx] = specResult{n: len(j.ops), ops: len(kept), pruned: pruned, verdict: v, duration: d}
	s.mu.Unlock()
}

// abort stops the workers of a session that will not finish.
func (s *session) abort() {
	s.conv.onQuiet = nil
	if s.jobs != nil {
		close(s.jobs)
		s.wg.Wait()
		s.jobs = nil
	}
}

// finish ends the history, and checks every key that was not checked whole on the side already.
func (s *session) finish() Result {
	s.abort()
	keys, stats := s.conv.finish()
	res := Result{Keys: make([]KeyResult, len(keys)), Verdict: Valid, visualize: s.opts.Visualize}
	var todo []int
	for i := range keys {
		if r, ok := s.early[i]; ok && r.n == len(keys[i].Ops) {
			res.Keys[i] = KeyResult{Key: keys[i].Key, Ops: r.ops, Pruned: r.pruned, Verdict: r.verdict, Duration: r.duration}
			stats.Pruned += r.pruned
			res.early++
			continue
		}
		var pruned int
		keys[i].Ops, pruned = pruneUnobserved(keys[i].Ops)
		stats.Pruned += pruned
		res.Keys[i].Pruned = pruned
		todo = append(todo, i)
	}
	checkKeys(keys, todo, s.opts, s.deadline, &res)
	res.Stats = stats
	res.Duration = time.Since(s.start)
	return res
}

// checkKeys runs one Porcupine check for each key of todo on a pool of workers, all within the deadline, and
// sets their results in res (whose Keys has an entry for every key; Pruned is kept) and its verdict. Smaller
// keys go first: under a deadline, that decides as many keys as possible before a hard one takes the rest.
func checkKeys(keys []KeyOps, todo []int, opts Options, deadline time.Time, res *Result) {
	workers := opts.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	model := keyModel()
	infos := make([]*porcupine.LinearizationInfo, len(keys))

	order := slices.Clone(todo)
	sort.SliceStable(order, func(a, b int) bool { return len(keys[order[a]].Ops) < len(keys[order[b]].Ops) })
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(order)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				kr := KeyResult{Key: keys[i].Key, Ops: len(keys[i].Ops), Pruned: res.Keys[i].Pruned, Verdict: Unknown}
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

// Linearization returns what Porcupine's verbose check found for an Invalid key (its partial linearizations),
// when the check ran with Options.Visualize and the verbose re-check finished in time.
func (r *Result) Linearization(key string) (porcupine.LinearizationInfo, bool) {
	info, ok := r.vis[key]
	return info, ok
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
	s := newSession(failCAS, opts, start)
	var convErr error
	_, err = history.ScanFileFormat(path, opts.Format, history.JepsenOptions{FailCAS: opts.FailCAS}, func(e history.Event) error {
		convErr = s.conv.add(e)
		return convErr
	})
	if convErr != nil {
		s.abort()
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
		s.abort()
		return Result{}, err
	}
	res := s.finish()
	res.Warnings = warnings
	return res, nil
}
