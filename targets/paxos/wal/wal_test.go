package wal

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/skeptic-dev/skeptic/targets/paxos/core"
)

func sampleRecords(n int) []core.Record {
	var out []core.Record
	for i := 1; i <= n; i++ {
		b := core.Ballot{Round: uint64(i), Node: "n1"}
		v := &core.Value{Commands: []core.Command{{ID: core.CommandID{Client: "c", Seq: uint64(i)}, Data: []byte{byte(i)}}}}
		out = append(out, core.Record{Kind: core.RecPromise, Ballot: b})
		out = append(out, core.Record{Kind: core.RecAccept, Ballot: b, Slot: uint64(i), Value: v})
	}
	return out
}

func writeLog(t *testing.T, dir string, recs []core.Record) {
	t.Helper()
	l, got, _, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Fatalf("fresh log returned %d records", len(got))
	}
	if err := l.Append(recs...); err != nil {
		t.Fatal(err)
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	recs := sampleRecords(5)
	writeLog(t, dir, recs)
	l, got, rec, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if !reflect.DeepEqual(got, recs) {
		t.Fatalf("recovered records differ:\n got %+v\nwant %+v", got, recs)
	}
	if rec.TornBytes != 0 || rec.Records != len(recs) {
		t.Fatalf("clean log reported %+v", rec)
	}
	st, _ := os.Stat(filepath.Join(dir, FileName))
	if st.Size() != l.Size() {
		t.Fatalf("Size()=%d, file is %d bytes", l.Size(), st.Size())
	}
}

// TestTornTail cuts or garbles the real file in each way a crash can, and checks that Open keeps exactly the good
// prefix, cuts the rest off on disk, and that appending afterwards works.
func TestTornTail(t *testing.T) {
	recs := sampleRecords(4)
	cases := map[string]func(t *testing.T, path string, size int64){
		"short header": func(t *testing.T, path string, size int64) {
			appendBytes(t, path, []byte{1, 2, 3})
		},
		"short payload": func(t *testing.T, path string, size int64) {
			if err := os.Truncate(path, size-3); err != nil {
				t.Fatal(err)
			}
		},
		"garbled payload": func(t *testing.T, path string, size int64) {
			b, _ := os.ReadFile(path)
			b[len(b)-2] ^= 0xff
			os.WriteFile(path, b, 0o644)
		},
		"huge length": func(t *testing.T, path string, size int64) {
			var hdr [8]byte
			binary.LittleEndian.PutUint32(hdr[:4], 0xfffffff0)
			appendBytes(t, path, append(hdr[:], make([]byte, 20)...))
		},
		"zeros": func(t *testing.T, path string, size int64) {
			appendBytes(t, path, make([]byte, 4096))
		},
	}
	for name, damage := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeLog(t, dir, recs)
			path := filepath.Join(dir, FileName)
			st, _ := os.Stat(path)
			damage(t, path, st.Size())
			l, got, rec, err := Open(dir)
			if err != nil {
				t.Fatalf("Open after %s: %v", name, err)
			}
			want := recs
			if name == "short payload" || name == "garbled payload" {
				want = recs[:len(recs)-1] // the last frame is the torn one
			}
			// "zeros": a zero header is a frame of length 0 whose CRC is 0 (crc32c of nothing), so it would "check
			// out"; Open must treat it as a tear, not as a record that fails to decode.
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %d records, want %d", len(got), len(want))
			}
			if rec.TornBytes == 0 || rec.Reason == "" {
				t.Fatalf("damage not reported: %+v", rec)
			}
			st2, _ := os.Stat(path)
			if st2.Size() != rec.GoodBytes {
				t.Fatalf("file is %d bytes after recovery, want cut to %d", st2.Size(), rec.GoodBytes)
			}
			extra := core.Record{Kind: core.RecPromise, Ballot: core.Ballot{Round: 99, Node: "n2"}}
			if err := l.Append(extra); err != nil {
				t.Fatal(err)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l2, got2, rec2, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer l2.Close()
			if rec2.TornBytes != 0 || !reflect.DeepEqual(got2, append(append([]core.Record{}, want...), extra)) {
				t.Fatalf("after append to a recovered log: %d records, torn %d", len(got2), rec2.TornBytes)
			}
		})
	}
}

func appendBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

func TestRewrite(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, sampleRecords(50))
	l, _, _, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	before := l.Size()
	snap := []core.Record{
		{Kind: core.RecPromise, Ballot: core.Ballot{Round: 50, Node: "n1"}},
		{Kind: core.RecSnapshot, Snapshot: &core.Snapshot{Slot: 50, Data: []byte(`{"x":1}`)}},
	}
	if err := l.Rewrite(snap); err != nil {
		t.Fatal(err)
	}
	if l.Size() >= before {
		t.Fatalf("rewrite did not shrink the log: %d -> %d", before, l.Size())
	}
	after := core.Record{Kind: core.RecChosen, Slot: 51, Value: &core.Value{}}
	if err := l.Append(after); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, tmpName)); !os.IsNotExist(err) {
		t.Fatalf("tmp file left behind: %v", err)
	}
	l2, got, _, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if !reflect.DeepEqual(got, append(snap, after)) {
		t.Fatalf("after rewrite got %+v", got)
	}
}

// TestUnsyncedNotDurable: records appended without Sync are only buffered, so a process that dies before Sync has
// not written them; the node therefore must Sync before it sends.
func TestUnsyncedNotDurable(t *testing.T) {
	dir := t.TempDir()
	l, _, _, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Append(sampleRecords(1)...); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(filepath.Join(dir, FileName))
	if st.Size() != 0 {
		t.Fatalf("append reached the file before Sync: %d bytes", st.Size())
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	st, _ = os.Stat(filepath.Join(dir, FileName))
	if st.Size() != l.Size() || st.Size() == 0 {
		t.Fatalf("after Sync file has %d bytes, log says %d", st.Size(), l.Size())
	}
	l.Close()
}
