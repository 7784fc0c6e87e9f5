package sim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand"
	"path"
	"sort"

	"github.com/skeptic-dev/skeptic/targets/paxos/wal"
)

// disk is a simulated disk under the real write-ahead log (wal.FS): files live in memory, and what the node
// wrote but did not fsync is what a crash loses. Each file keeps what was written (the page cache) and what the
// last fsync made durable; the directory keeps its entries as created and renamed, and the entries the last
// directory fsync made durable. When the node crashes (crash), every file falls back to its durable content plus,
// drawn from the seed, a prefix of what was written after it (the kernel may have written some pages back on its
// own), whose last part may be zeros (a sector that was allocated but never written): a torn last record. A file
// whose directory entry was never made durable is gone.
//
// failSync makes the next fsync of a file fail after the write reached the page cache and before it became
// durable: the crash in the middle of an fsync.
type disk struct {
	rnd     *rand.Rand
	names   map[string]*inode
	durable map[string]*inode
	dirs    map[string]bool
	// failSync: the next file fsync fails (and the node is then crashed by its driver's error).
	failSync bool
	// Torn counts the crashes that left part of an unsynced write behind; Lost those that dropped unsynced bytes.
	torn, lost int
}

type inode struct {
	data    []byte // as written
	durable []byte // as of the last fsync
	// dirty: written since the last fsync other than by appending (a truncation, an overwrite), so durable is
	// not a prefix of data.
	dirty bool
}

// errSyncCrash is the error of an fsync the simulation interrupted.
var errSyncCrash = errors.New("simulated crash during fsync")

func newDisk(rnd *rand.Rand) *disk {
	return &disk{rnd: rnd, names: map[string]*inode{}, durable: map[string]*inode{}, dirs: map[string]bool{}}
}

var _ wal.FS = (*disk)(nil)

func (d *disk) MkdirAll(dir string) error {
	d.dirs[path.Clean(dir)] = true
	return nil
}

func (d *disk) OpenFile(name string, truncate bool) (wal.File, error) {
	name = path.Clean(name)
	if !d.dirs[path.Dir(name)] {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	ino := d.names[name]
	if ino == nil {
		ino = &inode{}
		d.names[name] = ino
	}
	if truncate && len(ino.data) > 0 {
		ino.data = nil
		ino.dirty = true
	}
	return &file{d: d, ino: ino}, nil
}

func (d *disk) Remove(name string) error {
	name = path.Clean(name)
	if d.names[name] == nil {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
	}
	delete(d.names, name)
	return nil
}

func (d *disk) Rename(from, to string) error {
	from, to = path.Clean(from), path.Clean(to)
	ino := d.names[from]
	if ino == nil {
		return &fs.PathError{Op: "rename", Path: from, Err: fs.ErrNotExist}
	}
	delete(d.names, from)
	d.names[to] = ino
	return nil
}

func (d *disk) SyncDir(string) error {
	d.durable = make(map[string]*inode, len(d.names))
	for k, v := range d.names {
		d.durable[k] = v
	}
	return nil
}

// crash is what the disk holds when its node comes back after a crash.
func (d *disk) crash() {
	names := make([]string, 0, len(d.durable))
	for k := range d.durable {
		names = append(names, k)
	}
	sort.Strings(names) // the draws below must not depend on map order
	for _, k := range names {
		ino := d.durable[k]
		kept := ino.durable
		if extra := len(ino.data) - len(ino.durable); extra > 0 && !ino.dirty {
			d.lost++
			if k := d.rnd.Intn(extra + 1); k > 0 && d.rnd.Intn(2) == 0 {
				d.torn++
				kept = append(bytes.Clone(ino.durable), ino.data[len(ino.durable):len(ino.durable)+k]...)
				if d.rnd.Intn(2) == 0 {
					// The last part of the write never reached the platter: zeros where it should be.
					z := len(ino.durable) + d.rnd.Intn(k)
					clear(kept[z:])
				}
			}
		}
		ino.data = bytes.Clone(kept)
		ino.durable = bytes.Clone(kept)
		ino.dirty = false
	}
	d.names = make(map[string]*inode, len(d.durable))
	for k, v := range d.durable {
		d.names[k] = v
	}
	d.failSync = false
}

// file is an open file of a disk.
type file struct {
	d      *disk
	ino    *inode
	pos    int64
	closed bool
}

func (f *file) check() error {
	if f.closed {
		return fs.ErrClosed
	}
	return nil
}

func (f *file) Read(p []byte) (int, error) {
	if err := f.check(); err != nil {
		return 0, err
	}
	if f.pos >= int64(len(f.ino.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.ino.data[f.pos:])
	f.pos += int64(n)
	return n, nil
}

func (f *file) Write(p []byte) (int, error) {
	if err := f.check(); err != nil {
		return 0, err
	}
	if f.pos < int64(len(f.ino.data)) {
		f.ino.dirty = true
	}
	end := f.pos + int64(len(p))
	if end > int64(len(f.ino.data)) {
		f.ino.data = append(f.ino.data, make([]byte, end-int64(len(f.ino.data)))...)
	}
	copy(f.ino.data[f.pos:], p)
	f.pos = end
	return len(p), nil
}

func (f *file) Seek(off int64, whence int) (int64, error) {
	if err := f.check(); err != nil {
		return 0, err
	}
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		off += f.pos
	case io.SeekEnd:
		off += int64(len(f.ino.data))
	default:
		return 0, fmt.Errorf("seek: bad whence %d", whence)
	}
	if off < 0 {
		return 0, fmt.Errorf("seek: negative offset %d", off)
	}
	f.pos = off
	return off, nil
}

func (f *file) Truncate(size int64) error {
	if err := f.check(); err != nil {
		return err
	}
	if size < int64(len(f.ino.data)) {
		f.ino.data = f.ino.data[:size:size]
		f.ino.dirty = true
	} else {
		f.ino.data = append(f.ino.data, make([]byte, size-int64(len(f.ino.data)))...)
	}
	return nil
}

func (f *file) Sync() error {
	if err := f.check(); err != nil {
		return err
	}
	if f.d.failSync {
		f.d.failSync = false
		return errSyncCrash
	}
	if f.ino.dirty {
		f.ino.durable = bytes.Clone(f.ino.data)
		f.ino.dirty = false
	} else {
		f.ino.durable = append(f.ino.durable, f.ino.data[len(f.ino.durable):]...)
	}
	return nil
}

func (f *file) Size() (int64, error) {
	if err := f.check(); err != nil {
		return 0, err
	}
	return int64(len(f.ino.data)), nil
}

func (f *file) Close() error {
	if err := f.check(); err != nil {
		return err
	}
	f.closed = true
	return nil
}
