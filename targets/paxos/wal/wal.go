package wal

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"path/filepath"

	"github.com/skeptic-dev/skeptic/targets/paxos/core"
	"github.com/skeptic-dev/skeptic/targets/paxos/internal/mutation"
)

// FileName is the log's name inside the data directory.
const FileName = "paxos.wal"

// tmpName is where Rewrite builds a replacement log before it renames it over FileName.
const tmpName = "paxos.wal.tmp"

// headerLen is the size of a frame header: payload length then CRC32C.
const headerLen = 8

// MaxRecordBytes bounds one record's payload. A length field above it is treated as a torn frame, so a garbled
// length can never make Open allocate gigabytes.
const MaxRecordBytes = 64 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Recovery describes what Open found in an existing log.
type Recovery struct {
	// Records is how many good records were read back.
	Records int
	// GoodBytes is the length of the file up to the end of the last good frame.
	GoodBytes int64
	// TornBytes is how many bytes after GoodBytes were cut off (a torn or garbled tail); 0 for a clean log.
	TornBytes int64
	// Reason says why the tail was cut ("short header", "checksum mismatch", ...); empty when TornBytes is 0.
	Reason string
}

// Log is an open durable log. It is not safe for concurrent use: the node's event loop owns it.
//
// Durability order: records passed to Append are durable only after Sync returns nil. The driver appends every
// record of a Ready, calls Sync, and only then sends that Ready's messages or answers clients.
type Log struct {
	fs   FS
	dir  string
	f    File
	w    *bufio.Writer
	size int64 // bytes written, including those still buffered
	buf  []byte
}

// Open opens (creating if needed) the log in dir, reads back every good record, cuts off a torn tail, and
// returns the log positioned for appending. A torn tail is not an error; it is reported in Recovery. An I/O
// error, or a good frame whose JSON does not decode, is returned as an error.
func Open(dir string) (*Log, []core.Record, Recovery, error) {
	return OpenFS(OS, dir)
}

// OpenFS is Open on the file system fs.
func OpenFS(fs FS, dir string) (*Log, []core.Record, Recovery, error) {
	var rec Recovery
	if err := fs.MkdirAll(dir); err != nil {
		return nil, nil, rec, fmt.Errorf("wal: create data dir %s: %w", dir, err)
	}
	// A leftover tmp file is an unfinished Rewrite: the old log is still whole, so drop the tmp.
	_ = fs.Remove(filepath.Join(dir, tmpName))
	path := filepath.Join(dir, FileName)
	f, err := fs.OpenFile(path, false)
	if err != nil {
		return nil, nil, rec, fmt.Errorf("wal: open %s: %w", path, err)
	}
	// The file may have just been created: make its directory entry durable, or a crash could lose the whole
	// log although every record in it was fsynced.
	if err := fs.SyncDir(dir); err != nil {
		f.Close()
		return nil, nil, rec, fmt.Errorf("wal: %w", err)
	}
	records, rec, err := readAll(f)
	if err != nil {
		f.Close()
		return nil, nil, rec, fmt.Errorf("wal: read %s: %w", path, err)
	}
	if rec.TornBytes > 0 {
		if err := f.Truncate(rec.GoodBytes); err != nil {
			f.Close()
			return nil, nil, rec, fmt.Errorf("wal: cut torn tail of %s at byte %d: %w", path, rec.GoodBytes, err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, nil, rec, fmt.Errorf("wal: fsync %s after cutting its tail: %w", path, err)
		}
	}
	if _, err := f.Seek(rec.GoodBytes, io.SeekStart); err != nil {
		f.Close()
		return nil, nil, rec, fmt.Errorf("wal: seek %s: %w", path, err)
	}
	l := &Log{fs: fs, dir: dir, f: f, w: bufio.NewWriterSize(f, 256<<10), size: rec.GoodBytes}
	return l, records, rec, nil
}

// readAll reads frames from the start of f until the end or the first bad frame.
func readAll(f File) ([]core.Record, Recovery, error) {
	var rec Recovery
	total, err := f.Size()
	if err != nil {
		return nil, rec, err
	}
	r := bufio.NewReaderSize(f, 256<<10)
	var records []core.Record
	var hdr [headerLen]byte
	var off int64
	for off < total {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			rec.Reason = fmt.Sprintf("short frame header at byte %d", off)
			break
		}
		n := binary.LittleEndian.Uint32(hdr[0:4])
		sum := binary.LittleEndian.Uint32(hdr[4:8])
		if n == 0 {
			// Encoding never writes an empty payload; zeros are what a file extended but never written holds.
			rec.Reason = fmt.Sprintf("zero-length frame at byte %d", off)
			break
		}
		if n > MaxRecordBytes || int64(n) > total-off-headerLen {
			rec.Reason = fmt.Sprintf("frame at byte %d claims %d payload bytes, %d remain", off, n, total-off-headerLen)
			break
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(r, payload); err != nil {
			rec.Reason = fmt.Sprintf("short payload at byte %d", off)
			break
		}
		if crc32.Checksum(payload, castagnoli) != sum && mutation.Active() != mutation.WALNoChecksum {
			// MUTATION(wal-no-checksum) skips this check: a frame whose length fits is taken as written.
			rec.Reason = fmt.Sprintf("checksum mismatch in frame at byte %d", off)
			break
		}
		var r core.Record
		if err := json.Unmarshal(payload, &r); err != nil {
			// The checksum matched, so these are the bytes we wrote: a decode failure is a bug, not a tear.
			return nil, rec, fmt.Errorf("frame at byte %d has a good checksum but does not decode: %w", off, err)
		}
		records = append(records, r)
		off += headerLen + int64(n)
	}
	rec.Records = len(records)
	rec.GoodBytes = off
	rec.TornBytes = total - off
	return records, rec, nil
}

// Append frames recs and writes them to the log's buffer. They are durable only after Sync.
func (l *Log) Append(recs ...core.Record) error {
	for i := range recs {
		b, err := encodeFrame(l.buf[:0], &recs[i])
		if err != nil {
			return err
		}
		l.buf = b
		if _, err := l.w.Write(b); err != nil {
			return fmt.Errorf("wal: append: %w", err)
		}
		l.size += int64(len(b))
	}
	if cap(l.buf) > 1<<20 {
		l.buf = nil // do not pin one huge snapshot's buffer forever
	}
	return nil
}

// encodeFrame appends r's frame to dst.
func encodeFrame(dst []byte, r *core.Record) ([]byte, error) {
	payload, err := json.Marshal(r)
	if err != nil {
		return dst, fmt.Errorf("wal: encode record of kind %d: %w", r.Kind, err)
	}
	if len(payload) > MaxRecordBytes {
		return dst, fmt.Errorf("wal: record of kind %d is %d bytes, above the limit of %d", r.Kind, len(payload), MaxRecordBytes)
	}
	var hdr [headerLen]byte
	binary.LittleEndian.PutUint32(hdr[0:4], uint32(len(payload)))
	binary.LittleEndian.PutUint32(hdr[4:8], crc32.Checksum(payload, castagnoli))
	dst = append(dst, hdr[:]...)
	return append(dst, payload...), nil
}

// Sync flushes buffered records and fsyncs the file. When it returns nil, every appended record survives a crash.
func (l *Log) Sync() error {
	if err := l.w.Flush(); err != nil {
		return fmt.Errorf("wal: write: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("wal: fsync: %w", err)
	}
	return nil
}

// Size is the log's length in bytes, counting records appended but not yet synced.
func (l *Log) Size() int64 { return l.size }

// Rewrite replaces the log with recs (normally core.PersistentState()): it writes them to a new file, fsyncs it,
// renames it over the log and fsyncs the directory. A crash at any point leaves either the old log or the new one
// whole. Records appended before Rewrite must already be covered by recs; they are not copied.
func (l *Log) Rewrite(recs []core.Record) error {
	tmp := filepath.Join(l.dir, tmpName)
	f, err := l.fs.OpenFile(tmp, true)
	if err != nil {
		return fmt.Errorf("wal: rewrite: create %s: %w", tmp, err)
	}
	// The new log is encoded whole, then written at once: it is what the caller already holds in memory, and a
	// log rewritten often (a low compaction threshold) then costs no 256 KiB buffer each time.
	var buf []byte
	for i := range recs {
		if buf, err = encodeFrame(buf, &recs[i]); err != nil {
			f.Close()
			l.fs.Remove(tmp)
			return fmt.Errorf("wal: rewrite: %w", err)
		}
	}
	size := int64(len(buf))
	if _, err := f.Write(buf); err != nil {
		f.Close()
		l.fs.Remove(tmp)
		return fmt.Errorf("wal: rewrite: write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		l.fs.Remove(tmp)
		return fmt.Errorf("wal: rewrite: fsync %s: %w", tmp, err)
	}
	// Flush what the old file still buffers so that closing it cannot lose anything the caller thinks is written.
	if err := l.w.Flush(); err != nil {
		f.Close()
		l.fs.Remove(tmp)
		return fmt.Errorf("wal: rewrite: flush old log: %w", err)
	}
	if err := l.fs.Rename(tmp, filepath.Join(l.dir, FileName)); err != nil {
		f.Close()
		l.fs.Remove(tmp)
		return fmt.Errorf("wal: rewrite: rename over %s: %w", FileName, err)
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		f.Close()
		return fmt.Errorf("wal: rewrite: %w", err)
	}
	l.f.Close()
	l.f = f
	l.w.Reset(f)
	l.size = size
	return nil
}

// Close flushes and fsyncs what is buffered, then closes the file.
func (l *Log) Close() error {
	if l.f == nil {
		return errors.New("wal: already closed")
	}
	err := l.Sync()
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}
