package wal

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

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
	require.NoError(t, err)
	require.Empty(t, got, "fresh log returned records")
	require.NoError(t, l.Append(recs...))
	require.NoError(t, l.Sync())
	require.NoError(t, l.Close())
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	recs := sampleRecords(5)
	writeLog(t, dir, recs)
	l, got, rec, err := Open(dir)
	require.NoError(t, err)
	defer l.Close()
	require.Equal(t, recs, got, "recovered records differ")
	require.Zero(t, rec.TornBytes, "clean log reported %+v", rec)
	require.Equal(t, len(recs), rec.Records, "clean log reported %+v", rec)
	st, err := os.Stat(filepath.Join(dir, FileName))
	require.NoError(t, err)
	require.Equal(t, st.Size(), l.Size(), "Size() against the file's size")
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
			require.NoError(t, os.Truncate(path, size-3))
		},
		"garbled payload": func(t *testing.T, path string, size int64) {
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			b[len(b)-2] ^= 0xff
			require.NoError(t, os.WriteFile(path, b, 0o644))
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
			st, err := os.Stat(path)
			require.NoError(t, err)
			damage(t, path, st.Size())
			l, got, rec, err := Open(dir)
			require.NoError(t, err, "Open after %s", name)
			want := recs
			if name == "short payload" || name == "garbled payload" {
				want = recs[:len(recs)-1] // the last frame is the torn one
			}
			// "zeros": a zero header is a frame of length 0 whose CRC is 0 (crc32c of nothing), so it would "check
			// out"; Open must treat it as a tear, not as a record that fails to decode.
			require.Equal(t, want, got)
			require.NotZero(t, rec.TornBytes, "damage not reported: %+v", rec)
			require.NotEmpty(t, rec.Reason, "damage not reported: %+v", rec)
			st2, err := os.Stat(path)
			require.NoError(t, err)
			require.Equal(t, rec.GoodBytes, st2.Size(), "the file after recovery must be cut to the good prefix")
			extra := core.Record{Kind: core.RecPromise, Ballot: core.Ballot{Round: 99, Node: "n2"}}
			require.NoError(t, l.Append(extra))
			require.NoError(t, l.Close())
			l2, got2, rec2, err := Open(dir)
			require.NoError(t, err)
			defer l2.Close()
			require.Zero(t, rec2.TornBytes, "after append to a recovered log")
			require.Equal(t, append(append([]core.Record{}, want...), extra), got2, "after append to a recovered log")
		})
	}
}

func appendBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	defer f.Close()
	_, err = f.Write(b)
	require.NoError(t, err)
}

func TestRewrite(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, sampleRecords(50))
	l, _, _, err := Open(dir)
	require.NoError(t, err)
	before := l.Size()
	snap := []core.Record{
		{Kind: core.RecPromise, Ballot: core.Ballot{Round: 50, Node: "n1"}},
		{Kind: core.RecSnapshot, Snapshot: &core.Snapshot{Slot: 50, Data: []byte(`{"x":1}`)}},
	}
	require.NoError(t, l.Rewrite(snap))
	require.Less(t, l.Size(), before, "rewrite did not shrink the log")
	after := core.Record{Kind: core.RecChosen, Slot: 51, Value: &core.Value{}}
	require.NoError(t, l.Append(after))
	require.NoError(t, l.Close())
	_, err = os.Stat(filepath.Join(dir, tmpName))
	require.True(t, os.IsNotExist(err), "tmp file left behind: %v", err)
	l2, got, _, err := Open(dir)
	require.NoError(t, err)
	defer l2.Close()
	require.Equal(t, append(snap, after), got, "after rewrite")
}

// TestUnsyncedNotDurable: records appended without Sync are only buffered, so a process that dies before Sync has
// not written them; the node therefore must Sync before it sends.
func TestUnsyncedNotDurable(t *testing.T) {
	dir := t.TempDir()
	l, _, _, err := Open(dir)
	require.NoError(t, err)
	require.NoError(t, l.Append(sampleRecords(1)...))
	st, err := os.Stat(filepath.Join(dir, FileName))
	require.NoError(t, err)
	require.Zero(t, st.Size(), "append reached the file before Sync")
	require.NoError(t, l.Sync())
	st, err = os.Stat(filepath.Join(dir, FileName))
	require.NoError(t, err)
	require.NotZero(t, st.Size())
	require.Equal(t, l.Size(), st.Size(), "after Sync the file against the log's size")
	require.NoError(t, l.Close())
}
