package harness

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// The files of a run folder (shared/ARCHITECTURE.md, "Store").
const (
	ConfigFile  = "config.json"
	HistoryFile = "history.jsonl"
	ResultsFile = "results.json"
	LogFile     = "skeptic.log"
	NodesDir    = "nodes"
	// LatestLink is the symlink, in the store root and in each test's folder, to the newest run.
	LatestLink = "latest"
	// TimestampLayout names run folders: YYYYMMDDTHHMMSS, in UTC.
	TimestampLayout = "20060102T150405"
)

// RunDir is one run's folder, store/<test>/<timestamp>/.
type RunDir struct {
	// Path is the folder itself.
	Path string
	// Store is the store root the folder lives in.
	Store string
	// Test is the test's name; Stamp the folder's timestamp name.
	Test, Stamp string
}

// File returns the path of name inside the run folder.
func (d RunDir) File(name string) string { return filepath.Join(d.Path, name) }

// NodeDir returns the folder of node id's logs and data.
func (d RunDir) NodeDir(id string) string { return filepath.Join(d.Path, NodesDir, id) }

// CreateRunDir makes store/<test>/<timestamp of now, UTC>/ with its nodes/ folder, and points store/latest and
// store/<test>/latest at it. When a folder of the same second exists (several short runs in a row), it appends
// -2, -3, ... rather than reuse it.
func CreateRunDir(store, test string, now time.Time, nodes []string) (RunDir, error) {
	stamp := now.UTC().Format(TimestampLayout)
	testDir := filepath.Join(store, test)
	if err := os.MkdirAll(testDir, 0o755); err != nil {
		return RunDir{}, fmt.Errorf("create store folder: %w", err)
	}
	name := stamp
	var path string
	for i := 1; ; i++ {
		if i > 1 {
			name = fmt.Sprintf("%s-%d", stamp, i)
		}
		path = filepath.Join(testDir, name)
		err := os.Mkdir(path, 0o755)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrExist) || i >= 100 {
			return RunDir{}, fmt.Errorf("create run folder: %w", err)
		}
	}
	d := RunDir{Path: path, Store: store, Test: test, Stamp: name}
	for _, id := range nodes {
		if err := os.MkdirAll(d.NodeDir(id), 0o755); err != nil {
			return RunDir{}, fmt.Errorf("create node folder: %w", err)
		}
	}
	if err := os.MkdirAll(filepath.Join(path, NodesDir), 0o755); err != nil {
		return RunDir{}, fmt.Errorf("create nodes folder: %w", err)
	}
	if err := pointLatest(filepath.Join(store, LatestLink), filepath.Join(test, name)); err != nil {
		return RunDir{}, err
	}
	if err := pointLatest(filepath.Join(testDir, LatestLink), name); err != nil {
		return RunDir{}, err
	}
	return d, nil
}

// pointLatest atomically replaces the symlink link with one to target (relative to the link's folder): it makes
// the new link beside the old one and renames it over, so a reader never sees no link.
func pointLatest(link, target string) error {
	tmp := fmt.Sprintf("%s.tmp-%d", link, os.Getpid())
	_ = os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return fmt.Errorf("link %s: %w", link, err)
	}
	if err := os.Rename(tmp, link); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("link %s: %w", link, err)
	}
	return nil
}

// writeJSON writes v, indented, to path, and fsyncs it.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
