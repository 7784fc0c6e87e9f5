package wal

import (
	"fmt"
	"io"
	"os"
)

// FS is the file system the log lives on: the real one (OS), or a simulated disk (targets/paxos/sim) that loses
// what was not fsynced when its node crashes. Names are slash-separated paths.
type FS interface {
	// MkdirAll creates dir and its parents.
	MkdirAll(dir string) error
	// OpenFile opens name for reading and writing, creating it if missing; truncate empties it.
	OpenFile(name string, truncate bool) (File, error)
	// Remove deletes name; a missing name is an error satisfying os.IsNotExist or is ignored by callers.
	Remove(name string) error
	// Rename moves from over to, atomically.
	Rename(from, to string) error
	// SyncDir makes the directory's entries (creations, renames) durable.
	SyncDir(dir string) error
}

// File is an open file of an FS.
type File interface {
	io.Reader
	io.Writer
	io.Seeker
	// Truncate cuts the file to size bytes.
	Truncate(size int64) error
	// Sync makes what was written durable (fsync).
	Sync() error
	// Size is the file's length.
	Size() (int64, error)
	Close() error
}

// OS is the real file system.
var OS FS = osFS{}

type osFS struct{}

func (osFS) MkdirAll(dir string) error { return os.MkdirAll(dir, 0o755) }

func (osFS) OpenFile(name string, truncate bool) (File, error) {
	flag := os.O_RDWR | os.O_CREATE
	if truncate {
		flag |= os.O_TRUNC
	}
	f, err := os.OpenFile(name, flag, 0o644)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

func (osFS) Remove(name string) error { return os.Remove(name) }

func (osFS) Rename(from, to string) error { return os.Rename(from, to) }

func (osFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	return nil
}

type osFile struct{ *os.File }

func (f osFile) Size() (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}
