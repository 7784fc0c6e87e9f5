package harness

// The run's console: what it prints on the terminal, also kept, time-stamped, in skeptic.log.

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// console writes the run's messages to the terminal and to skeptic.log. Lines written before the log is open
// are kept and copied into it when it opens, so skeptic.log starts with the runtime line too.
type console struct {
	mu    sync.Mutex
	out   io.Writer
	log   *os.File
	early []byte
	// barShown is set while a live progress line is on the terminal: printf clears it first, and the next
	// redraw puts it back under the printed line.
	barShown bool
}

// bar draws the live progress line in place of the previous one; "" removes it.
func (c *console) bar(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.write("\r\033[K" + line)
	c.barShown = line != ""
}

// write writes s to the terminal. A writer that panics is dropped (the log keeps every line): the console is
// used on the way out of a panic, so it must not panic itself.
func (c *console) write(s string) {
	defer func() {
		if p := recover(); p != nil {
			c.out = io.Discard
			c.toLog(fmt.Sprintf("console output dropped after its writer panicked: %v\n", p))
		}
	}()
	io.WriteString(c.out, s)
}

func newConsole(out io.Writer) *console { return &console{out: out} }

func (c *console) openLog(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := f.Write(c.early); err != nil {
		f.Close()
		return err
	}
	c.early = nil
	c.log = f
	return nil
}

// printf writes to the terminal and the log.
func (c *console) printf(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.toLog(s)
	if c.barShown {
		c.write("\r\033[K")
		c.barShown = false
	}
	c.write(s)
}

// logf writes to the log only.
func (c *console) logf(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.toLog(s)
}

func (c *console) toLog(s string) {
	// Every line gets the time, so that skeptic.log reads as a timeline.
	stamp := time.Now().UTC().Format("15:04:05.000 ")
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for _, l := range lines {
		if l != "" {
			b.WriteString(stamp + l)
		}
	}
	stamped := b.String()
	if c.log != nil {
		c.log.WriteString(stamped)
	} else {
		c.early = append(c.early, stamped...)
	}
}

// logWriter is an io.Writer onto printf, for the runtime's progress lines.
func (c *console) logWriter() io.Writer { return consoleWriter{c} }

type consoleWriter struct{ c *console }

// Write prints p on the console and in the log.
func (w consoleWriter) Write(p []byte) (int, error) { w.c.printf("%s", p); return len(p), nil }

func (c *console) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.log != nil {
		c.log.Sync()
		c.log.Close()
		c.log = nil
	}
}
