package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/internal/field"
)

// CheckOptions configures an offline check (CheckFile).
type CheckOptions struct {
	// Timeout bounds the check; past it the verdict is unknown.
	Timeout time.Duration
	// OutDir receives results.json and the visualizations of the keys that are not valid. "" means a fresh
	// <run>/check/<timestamp>/ for the history.jsonl of a run folder, and otherwise
	// <Store>/check/<file name>/<timestamp>/.
	OutDir string
	// Store is the store root for the default OutDir ("" means "store").
	Store string
	// Out receives the per-key verdicts and the summary; nil means os.Stdout.
	Out io.Writer
	// Format is the file's format; "" tells it from the content (checker.Options.Format).
	Format history.Format
	// FailCAS is how a failed cas is read (checker.Options.FailCAS).
	FailCAS history.FailCAS
}

// CheckFile checks the history at path: a skeptic history.jsonl, or a Jepsen history (.edn or .log). It writes
// results.json and the visualizations of the keys that are not valid into the output folder, and prints each
// key's verdict. A file that cannot be read or parsed is a *field.Error for "check.file", naming the file and line; a bad
// timeout one for "check.timeout".
func CheckFile(ctx context.Context, path string, o CheckOptions) (Result, error) {
	res := Result{Verdict: Unknown}
	out := o.Out
	if out == nil {
		out = os.Stdout
	}
	if o.Timeout <= 0 {
		return res, field.Errorf("check.timeout", "must be > 0, got %s", o.Timeout)
	}
	if st, err := os.Stat(path); err != nil {
		return res, &field.Error{Field: "check.file", Msg: err.Error()}
	} else if st.IsDir() {
		return res, field.Errorf("check.file", "%s is a folder; give a history.jsonl, .edn or .log file", path)
	}
	dir := o.OutDir
	if dir == "" {
		dir = defaultCheckDir(path, o.Store)
	}
	made, err := mkdirAllMade(dir)
	if err != nil {
		return res, setupErr("create output folder", err)
	}
	res.Dir = dir
	res.Paths = map[string]string{"history": path, "results": filepath.Join(dir, ResultsFile), "dir": dir}
	fmt.Fprintf(out, "checking %s\n", path)
	res, err = checkPath(ctx, path, o, dir, res)
	if err != nil {
		// A check that could not run leaves no empty folder behind.
		for i := len(made) - 1; i >= 0; i-- {
			if os.Remove(made[i]) != nil {
				break
			}
		}
		res.Dir, res.Paths = "", nil
		return res, err
	}
	if err := writeJSON(filepath.Join(dir, ResultsFile), res); err != nil {
		return res, setupErr("write results.json", err)
	}
	printKeys(out, res, 20)
	for _, w := range res.Warnings {
		fmt.Fprintf(out, "warning: %s\n", w)
	}
	printVerdict(out, res)
	return res, nil
}

// defaultCheckDir is a fresh folder for a check's output, so that a re-check never overwrites anything: for the
// history.jsonl of a run folder (it has a config.json beside it), <run>/check/<timestamp>/; for any other file,
// <store>/check/<name>/<timestamp>/.
func defaultCheckDir(path, store string) string {
	stamp := time.Now().UTC().Format(TimestampLayout)
	d := filepath.Dir(path)
	if filepath.Base(path) == HistoryFile {
		if _, err := os.Stat(filepath.Join(d, ConfigFile)); err == nil {
			return uniqueDir(filepath.Join(d, "check", stamp))
		}
	}
	if store == "" {
		store = "store"
	}
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	return uniqueDir(filepath.Join(store, "check", name, stamp))
}

// uniqueDir returns p, or p-2, p-3, ... when p exists.
func uniqueDir(p string) string {
	q := p
	for i := 2; ; i++ {
		if _, err := os.Lstat(q); errors.Is(err, os.ErrNotExist) {
			return q
		}
		q = fmt.Sprintf("%s-%d", p, i)
	}
}

// printKeys prints up to limit keys, the ones that are not valid first (Result.Keys is in that order).
func printKeys(out io.Writer, res Result, limit int) {
	var invalid, unknown, vis int
	for _, k := range res.Keys {
		switch k.Verdict {
		case Invalid:
			invalid++
		case Unknown:
			unknown++
		}
		if k.Visualization != "" {
			vis++
		}
	}
	shown := 0
	for _, k := range res.Keys {
		if shown >= limit && (k.Verdict == Valid || shown >= 2*limit) {
			break
		}
		line := fmt.Sprintf("  key %-8s %-8s %5d ops", k.Key, k.Verdict, k.Ops)
		if k.Visualization != "" {
			line += "  " + k.Visualization
		}
		fmt.Fprintln(out, line)
		shown++
	}
	if rest := len(res.Keys) - shown; rest > 0 {
		fmt.Fprintf(out, "  ... and %d more keys (all in %s)\n", rest, res.Paths["results"])
	}
	if invalid+unknown > 0 {
		fmt.Fprintf(out, "%d of %d keys invalid, %d unknown", invalid, len(res.Keys), unknown)
		if vis > 0 {
			fmt.Fprintf(out, "; %d visualizations in %s", vis, res.Dir)
		}
		fmt.Fprintln(out)
	}
}

// printVerdict prints the last lines of a run or check: the verdict and where everything is.
func printVerdict(out io.Writer, res Result) {
	msg := map[Verdict]string{
		Valid:   "valid: every key's history is linearizable",
		Invalid: "INVALID: a history is not linearizable",
		Unknown: "unknown: the checker could not decide",
	}[res.Verdict]
	if res.Error != "" {
		msg += " (" + res.Error + ")"
	}
	fmt.Fprintf(out, "verdict: %s\n", msg)
	for _, n := range res.Notes {
		fmt.Fprintf(out, "  note: %s\n", n)
	}
	if res.Dir != "" {
		fmt.Fprintf(out, "results: %s\n", res.Dir)
	}
}

// mkdirAllMade is os.MkdirAll that returns the folders it created, outermost first.
func mkdirAllMade(dir string) ([]string, error) {
	var made []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil {
			break
		}
		made = append([]string{d}, made...)
		if filepath.Dir(d) == d {
			break
		}
	}
	return made, os.MkdirAll(dir, 0o755)
}
