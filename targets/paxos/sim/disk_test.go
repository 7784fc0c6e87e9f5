package sim

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/targets/paxos/core"
	"github.com/skeptic-dev/skeptic/targets/paxos/wal"
)

func records(from, to int) []core.Record {
	var out []core.Record
	for i := from; i <= to; i++ {
		out = append(out, core.Record{Kind: core.RecPromise, Ballot: core.Ballot{Round: uint64(i), Node: "n1"}})
	}
	return out
}

// TestDiskCrashKeepsOnlyWhatWasSynced: the real log over the simulated disk. Whatever a crash does to the writes
// after the last fsync (lose them, keep a part, tear the last frame, leave zeros), recovery returns every fsynced
// record and at most whole records after them, never a garbled one; over many seeds each kind of outcome happens.
func TestDiskCrashKeepsOnlyWhatWasSynced(t *testing.T) {
	var extra, cut int
	for seed := int64(1); seed <= 300; seed++ {
		d := newDisk(rand.New(rand.NewSource(seed)))
		l, recs, _, err := wal.OpenFS(d, "data")
		require.NoError(t, err)
		require.Empty(t, recs)
		require.NoError(t, l.Append(records(1, 5)...))
		require.NoError(t, l.Sync())
		require.NoError(t, l.Append(records(6, 9)...))
		d.failSync = true
		require.ErrorIs(t, l.Sync(), errSyncCrash, "the write reached the page cache, the fsync did not finish")
		d.crash()
		_, recs, rec, err := wal.OpenFS(d, "data")
		require.NoError(t, err, "seed %d", seed)
		require.GreaterOrEqual(t, len(recs), 5, "seed %d: a synced record was lost", seed)
		require.Equal(t, records(1, len(recs)), recs, "seed %d: recovered records are not a prefix of those written", seed)
		if len(recs) > 5 {
			extra++
		}
		if rec.TornBytes > 0 {
			cut++
		}
	}
	require.Positive(t, extra, "no crash kept unsynced whole records")
	require.Positive(t, cut, "no crash left a torn tail for recovery to cut")
}

// TestDiskLosesUnsyncedDirectoryEntries: a file whose directory entry was never fsynced is gone after a crash,
// and a rename is durable only after the directory is fsynced.
func TestDiskLosesUnsyncedDirectoryEntries(t *testing.T) {
	d := newDisk(rand.New(rand.NewSource(1)))
	require.NoError(t, d.MkdirAll("data"))
	f, err := d.OpenFile("data/a", false)
	require.NoError(t, err)
	_, err = f.Write([]byte("hello"))
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	d.crash()
	_, ok := d.names["data/a"]
	require.False(t, ok, "the file's creation was never made durable")

	f, err = d.OpenFile("data/a", false)
	require.NoError(t, err)
	_, err = f.Write([]byte("one"))
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	require.NoError(t, d.SyncDir("data"))
	g, err := d.OpenFile("data/b", true)
	require.NoError(t, err)
	_, err = g.Write([]byte("two"))
	require.NoError(t, err)
	require.NoError(t, g.Sync())
	require.NoError(t, d.Rename("data/b", "data/a"))
	d.crash()
	require.Equal(t, []byte("one"), d.names["data/a"].data, "the rename was not made durable")
}

// TestWALChecksumCatchesZeroedTail: a torn frame whose header is whole but whose payload ends in zeros is cut by
// the checksum; this is what the wal-no-checksum mutation lets through.
func TestWALChecksumCatchesZeroedTail(t *testing.T) {
	d := newDisk(rand.New(rand.NewSource(1)))
	l, _, _, err := wal.OpenFS(d, "data")
	require.NoError(t, err)
	require.NoError(t, l.Append(records(1, 2)...))
	require.NoError(t, l.Sync())
	ino := d.names["data/"+wal.FileName]
	clear(ino.durable[len(ino.durable)-3:])
	ino.data = append([]byte(nil), ino.durable...)
	_, recs, rec, err := wal.OpenFS(d, "data")
	require.NoError(t, err)
	require.Equal(t, records(1, 1), recs)
	require.Contains(t, rec.Reason, "checksum mismatch")
}
