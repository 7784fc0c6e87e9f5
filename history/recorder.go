package history

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"
)

// Recorder appends events to a history file as they happen. It is safe for concurrent use by every worker and
// the nemesis.
//
// Each event is encoded as json.Marshal writes it (history/encode.go) and written with a single write call on a file opened O_APPEND, so the file on disk
// is always a sequence of whole lines: a harness killed by SIGKILL loses nothing it had recorded, because the
// kernel already holds every written line. Close flushes the file to stable storage with fsync.
type Recorder struct {
	mu    sync.Mutex
	f     *os.File
	base  time.Time
	next  int64
	err   error
	hooks []func(Event)
	line  []byte // the line being written, under mu
}

// Create makes a new history file at path (it must not exist) whose times count from base. base must carry a
// monotonic clock reading (from time.Now), which every event is stamped against.
func Create(path string, base time.Time) (*Recorder, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	return &Recorder{f: f, base: base}, nil
}

// OnRecord registers fn to be called, under the recorder's lock and in index order, with each event after it is
// written. It is for cheap observers such as progress counters; fn must not call the Recorder.
func (r *Recorder) OnRecord(fn func(Event)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hooks = append(r.hooks, fn)
}

// SetBase moves the time origin to base (with a monotonic reading, from time.Now), as long as nothing has been
// recorded yet: the harness creates the file early, and starts its clock when the load starts.
func (r *Recorder) SetBase(base time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.next > 0 {
		return fmt.Errorf("history: the time origin cannot move after %d events were recorded", r.next)
	}
	r.base = base
	return nil
}

// Base returns the time origin of the history's times.
func (r *Recorder) Base() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.base
}

// Since returns the run's clock: nanoseconds since base, by the monotonic clock.
func (r *Recorder) Since() int64 { return int64(time.Since(r.Base())) }

// Record stamps e with the next index and the current time, writes it, and returns the event as written. After
// the first write error every later Record returns that error, so a full disk is reported, not ignored.
func (r *Recorder) Record(e Event) (Event, error) {
	// Most of the line is encoded before the lock is taken: only the index and the time need it. The line is
	// still written whole, with one write call, under the lock, so the file stays a sequence of whole lines in
	// index order.
	bp := lineBufs.Get().(*[]byte)
	defer lineBufs.Put(bp)
	tail, fast := appendTail((*bp)[:0], &e)
	*bp = tail[:0]

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return e, r.err
	}
	if r.f == nil {
		return e, fmt.Errorf("history: record after close")
	}
	e.Index = r.next
	e.Time = int64(time.Since(r.base))
	if e.Value == nil {
		e.Value = Null()
	}
	var b []byte
	if fast {
		r.line = append(appendHead(r.line[:0], e.Index, e.Time), tail...)
		b = r.line
	} else {
		var err error
		if b, err = json.Marshal(e); err != nil {
			return e, fmt.Errorf("history: encode event %d: %w", e.Index, err)
		}
		b = append(b, '\n')
	}
	if _, err := r.f.Write(b); err != nil {
		r.err = fmt.Errorf("history: write event %d: %w", e.Index, err)
		return e, r.err
	}
	r.next++
	for _, h := range r.hooks {
		h(e)
	}
	return e, nil
}

// Sync forces what was written so far to stable storage.
func (r *Recorder) Sync() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	return r.f.Sync()
}

// Close fsyncs and closes the file. It is idempotent.
func (r *Recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	serr := r.f.Sync()
	cerr := r.f.Close()
	r.f = nil
	if serr != nil {
		return fmt.Errorf("history: fsync: %w", serr)
	}
	if cerr != nil {
		return fmt.Errorf("history: close: %w", cerr)
	}
	return r.err
}
