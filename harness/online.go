package harness

// This file checks keys while the run goes on: a kv key retires once it has had --ops-per-key operations, and
// once every one of them has ended it is checked on a spare core. A key still in use is checked too, every
// liveCheckEvery, as far as its history goes (the operations under way count as unknown): a key whose workers are
// held up by a fault can take long to retire, and the violation is often already in it. With --fail-fast, the
// first key proven not linearizable stops the load (the run still heals, reads every key and checks the whole
// history). The final verdict always comes from the check of the whole history, so it is the same with and
// without online checking; linearizability is closed under prefixes, so a key found invalid online is invalid in
// the end too.

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skeptic-dev/skeptic/checker"
	"github.com/skeptic-dev/skeptic/history"
)

// Detection is the first key found not linearizable while the run went on.
type Detection struct {
	// Key is the key, and At the history time of the completion that made its history invalid: the last event of
	// the key's shortest prefix that is not linearizable.
	Key string   `json:"key"`
	At  Duration `json:"at"`
	// Found is the history time at which the online check proved it.
	Found Duration `json:"found"`
}

// online checks retired keys in the background.
type online struct {
	opsPerKey int
	start     time.Time
	onInvalid func(Detection)

	mu      sync.Mutex
	keys    map[string]*keyLog
	retired map[string]bool // keys checked as they retired
	closed  bool
	jobs    chan job
	stop    chan struct{} // closed by close: ends the live ticker
	wg      sync.WaitGroup
	first   atomic.Pointer[Detection]
	checked atomic.Int64
	invalid atomic.Int64
	// every keeps checking after the first finding, and verdicts records each key's verdict (tests).
	every    bool
	vmu      sync.Mutex
	verdicts map[string]checker.Verdict
}

// keyLog is the events of one key not yet retired: invokes is how many of its operations began, open how many
// are under way, and checked how many of its events the latest live check saw.
type keyLog struct {
	events                 []history.Event
	invokes, open, checked int
}

// job is one key's events to check: all of them (a retired key) or those so far (live).
type job struct {
	events []history.Event
	live   bool
}

// liveCheckEvery is how often the keys in use are checked as far as they go.
const liveCheckEvery = time.Second

// newOnline starts workers on the spare cores (one at least): each checks one retired key at a time.
// onInvalid is called once, for the first key found invalid.
func newOnline(opsPerKey int, start time.Time, onInvalid func(Detection)) *online {
	o := &online{opsPerKey: opsPerKey, start: start, onInvalid: onInvalid, keys: map[string]*keyLog{},
		retired: map[string]bool{}, jobs: make(chan job, 1024), stop: make(chan struct{})}
	for range max(1, runtime.GOMAXPROCS(0)-1) {
		o.wg.Add(1)
		go o.work()
	}
	o.wg.Add(1)
	go o.liveTicker(liveCheckEvery)
	return o
}

// liveTicker queues, every d, the history so far of each key in use that has had an operation end and has new
// events since its last live check (a queue already full skips the round: retired keys come first).
func (o *online) liveTicker(d time.Duration) {
	defer o.wg.Done()
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-o.stop:
			return
		case <-t.C:
		}
		o.mu.Lock()
		if o.closed {
			o.mu.Unlock()
			return
		}
		for _, k := range o.keys {
			if len(k.events) == k.checked || k.invokes == k.open {
				continue
			}
			select {
			case o.jobs <- job{events: slices.Clone(k.events), live: true}:
				k.checked = len(k.events)
			default:
			}
		}
		o.mu.Unlock()
	}
}

// observe takes every recorded event (the recorder's hook, in history order).
func (o *online) observe(e history.Event) {
	if e.Process == history.NemesisProcess || e.Key == "" {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return
	}
	if o.retired[e.Key] {
		// A key's last operations can come after it retired (its group's shares add up to a little more than
		// --ops-per-key): they are checked at the end with the rest of it, never on their own, as a history
		// without its beginning is no history of the key.
		return
	}
	k := o.keys[e.Key]
	if k == nil {
		k = &keyLog{}
		o.keys[e.Key] = k
	}
	k.events = append(k.events, e)
	if e.Type == history.Invoke {
		k.invokes++
		k.open++
	} else {
		k.open--
	}
	if k.invokes >= o.opsPerKey && k.open == 0 {
		delete(o.keys, e.Key)
		o.retired[e.Key] = true
		select {
		case o.jobs <- job{events: k.events}:
		default:
			// Every worker is busy and the queue is full: the key is checked at the end like the others.
		}
	}
}

func (o *online) work() {
	defer o.wg.Done()
	for j := range o.jobs {
		if o.first.Load() != nil && !o.every {
			continue // one finding is enough; the final check sees every key
		}
		evs := j.events
		v := checkEvents(evs)
		if !j.live {
			o.record(evs[0].Key, v)
		}
		if v != checker.Invalid {
			continue
		}
		found := Duration(time.Since(o.start))
		// Linearizability is closed under prefixes (an operation under way may take effect later, or never), so
		// an invalid prefix of a key in use is proof, and its shortest one says when the violation happened.
		at, ok := firstInvalidPrefix(evs)
		if !ok {
			at = evs[len(evs)-1].Time
		}
		d := &Detection{Key: evs[0].Key, At: Duration(at), Found: found}
		o.invalid.Add(1)
		if o.first.CompareAndSwap(nil, d) && o.onInvalid != nil {
			o.onInvalid(*d)
		}
	}
}

// record counts a retired key's check (one that erred or ran out of time is unknown), and keeps its verdict when
// every is set (tests).
func (o *online) record(key string, v checker.Verdict) {
	o.checked.Add(1)
	if o.every {
		o.vmu.Lock()
		o.verdicts[key] = v
		o.vmu.Unlock()
	}
}

// checkEvents checks one key's events on one core; a check that errs or runs out of time proves nothing.
func checkEvents(evs []history.Event) checker.Verdict {
	res, err := checker.Check(evs, checker.Options{Timeout: 10 * time.Second, Workers: 1})
	if err != nil {
		return checker.Unknown
	}
	return res.Verdict
}

// close stops taking events and waits for the checks under way.
func (o *online) close() {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return
	}
	o.closed = true
	close(o.stop)
	close(o.jobs)
	o.mu.Unlock()
	o.wg.Wait()
}

// Availability is the fraction of the load's client operations that succeeded (ok), overall and outside the
// fault windows, as a guard against runs that did almost nothing.
type Availability struct {
	Overall       float64 `json:"overall"`
	OutsideFaults float64 `json:"outside_faults"`
	// Ops and OpsOutsideFaults are the completions each fraction is of.
	Ops              int64 `json:"ops"`
	OpsOutsideFaults int64 `json:"ops_outside_faults"`
}

// completion is one ended client operation of the load: when it was invoked, and whether it was ok.
type completion struct {
	invoked int64
	ok      bool
}

// availability computes the load's availability from its completions and the fault windows.
func availability(cs []completion, faults []FaultRecord, loadEnd int64) Availability {
	var a Availability
	var ok, okOut int64
	for _, c := range cs {
		a.Ops++
		if c.ok {
			ok++
		}
		inFault := false
		for _, f := range faults {
			end := int64(f.End)
			if end == 0 {
				end = loadEnd
			}
			if c.invoked >= int64(f.Start) && c.invoked <= end {
				inFault = true
				break
			}
		}
		if !inFault {
			a.OpsOutsideFaults++
			if c.ok {
				okOut++
			}
		}
	}
	if a.Ops > 0 {
		a.Overall = float64(ok) / float64(a.Ops)
	}
	if a.OpsOutsideFaults > 0 {
		a.OutsideFaults = float64(okOut) / float64(a.OpsOutsideFaults)
	}
	return a
}

// startOnline starts the online check of the run's retired keys; with --fail-fast the first key found invalid
// stops the load through stopLoad.
func (r *run) startOnline(stopLoad func()) {
	if r.t.Workload != WorkloadKV {
		return // a register's keys never retire: it is checked at the end only
	}
	r.on = newOnline(r.t.OpsPerKey, r.rec.Base(), func(d Detection) {
		if !r.t.FailFast {
			r.con.logf("online check: key %s is not linearizable (its history was invalid by %s)\n", d.Key, d.At.D().Round(time.Millisecond))
			return
		}
		r.con.printf("fail-fast: key %s is not linearizable (its history was invalid by %s, proven at %s); stopping the load\n",
			d.Key, d.At.D().Round(time.Millisecond), d.Found.D().Round(time.Millisecond))
		stopLoad()
	})
}

// loadCompletions pairs each client invocation of the load (invoked before loadEnd) with how it ended, from the
// history the check reads back: the availability is derived after the run, off the workers' path.
func loadCompletions(events []history.Event, loadEnd int64) []completion {
	invoked := map[history.Process]int64{}
	var out []completion
	for _, e := range events {
		if e.Process == history.NemesisProcess {
			continue
		}
		if e.Type == history.Invoke {
			if loadEnd == 0 || e.Time < loadEnd {
				invoked[e.Process] = e.Time
			}
			continue
		}
		if at, ok := invoked[e.Process]; ok {
			delete(invoked, e.Process)
			out = append(out, completion{invoked: at, ok: e.Type == history.Ok})
		}
	}
	return out
}

// guard fills in the online check's findings and the availability, and holds a valid verdict to
// --min-availability: a run that did almost nothing proves nothing, so below it the verdict is unknown.
func (r *run) guard(res *Result, events []history.Event) {
	if r.on != nil {
		res.Detection = r.on.first.Load()
		res.OnlineChecked = r.on.checked.Load()
	}
	a := availability(loadCompletions(events, r.loadEnd.Load()), res.Faults, r.loadEnd.Load())
	res.Availability = &a
	min := r.t.MinAvailability
	if min <= 0 || res.Verdict != Valid {
		return
	}
	var why []string
	if a.Overall < min {
		why = append(why, fmt.Sprintf("%.1f%% of the load's %d operations succeeded", 100*a.Overall, a.Ops))
	}
	if a.OutsideFaults < min {
		why = append(why, fmt.Sprintf("%.1f%% of the %d outside fault windows did", 100*a.OutsideFaults, a.OpsOutsideFaults))
	}
	if len(why) > 0 {
		res.Verdict = Unknown
		res.Notes = append(res.Notes, fmt.Sprintf("unknown, not valid: %s, below --min-availability %.0f%%; a run that did so little proves little", strings.Join(why, " and "), 100*min))
	}
}
