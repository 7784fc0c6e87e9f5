package checker

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/history"
)

// staleReadEDN is a read of nil that starts after a write of 1 has completed, in EDN maps with no :time (as
// Knossos writes them): not linearizable, but only real-time order shows it.
const staleReadEDN = `{:type :invoke, :f :write, :value 1, :process 0, :index 0}
{:type :ok, :f :write, :value 1, :process 0, :index 1}
{:type :invoke, :f :read, :value nil, :process 1, :index 2}
{:type :ok, :f :read, :value nil, :process 1, :index 3}
`

// TestStaleReadWithoutTimeIsInvalid is the regression test for EDN histories without :time, which were once
// imported with every time 0: every operation then overlapped every other, and this stale read checked valid.
func TestStaleReadWithoutTimeIsInvalid(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"history.edn": staleReadEDN,
		// The read starts at the very nanosecond the write ends: only the file order says which came first.
		"tie.edn": "{:type :invoke, :f :write, :value 1, :process 0, :time 100}\n{:type :ok, :f :write, :value 1, :process 0, :time 200}\n" +
			"{:type :invoke, :f :read, :value nil, :process 1, :time 200}\n{:type :ok, :f :read, :value nil, :process 1, :time 300}\n",
		"knossos.edn": "[{:process 0, :type :invoke, :f :write, :value 1}\n {:process 0, :type :ok, :f :write, :value 1}\n" +
			" {:process 1, :type :invoke, :f :read, :value nil}\n {:process 1, :type :ok, :f :read, :value nil}]\n",
	} {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
		for _, format := range []history.Format{history.FormatAuto, history.FormatJepsenEDN} {
			res, err := CheckFile(path, Options{Timeout: 10 * time.Second, Format: format})
			require.NoError(t, err)
			require.Equal(t, Invalid, res.Verdict, "%s as %q", name, format)
		}
		// The control: the same operations all at one instant (what the importer once made of them) are
		// linearizable, so the verdict above comes from the order the importer keeps. (With tie.edn's own
		// times the read and the write overlap too.)
		events, _, err := history.ReadFileFormat(path, history.FormatAuto, history.JepsenOptions{})
		require.NoError(t, err)
		for i := range events {
			events[i].Time = 0
		}
		res, err := Check(events, Options{Timeout: 10 * time.Second})
		require.NoError(t, err)
		require.Equal(t, Valid, res.Verdict)
		if name == "tie.edn" {
			for i, tm := range []int64{100, 200, 200, 300} {
				events[i].Time = tm
			}
			res, err := Check(events, Options{Timeout: 10 * time.Second})
			require.NoError(t, err)
			require.Equal(t, Valid, res.Verdict, "at equal times Porcupine lets the read overlap the write")
		}
	}
}

// TestFailCAS: a cas that fails after a write of its from value has completed, and before anything else
// writes, is a stale compare when the failure is an observation, and nothing when it never happened.
func TestFailCAS(t *testing.T) {
	dir := t.TempDir()
	edn := filepath.Join(dir, "history.edn")
	require.NoError(t, os.WriteFile(edn, []byte(
		"{:type :invoke, :f :write, :value 1, :process 0}\n"+
			"{:type :ok, :f :write, :value 1, :process 0}\n"+
			"{:type :invoke, :f :cas, :value [1 2], :process 1}\n"+
			"{:type :fail, :f :cas, :value [1 2], :process 1}\n"), 0o644))
	log := filepath.Join(dir, "jepsen.log")
	require.NoError(t, os.WriteFile(log, []byte(
		"INFO jepsen.util - 0\t:invoke\t:write\t1\n"+
			"INFO jepsen.util - 0\t:ok\t:write\t1\n"+
			"INFO jepsen.util - 1\t:invoke\t:cas\t[1 2]\n"+
			"INFO jepsen.util - 1\t:fail\t:cas\t[1 2]\n"), 0o644))
	// skeptic's own form: the cas-mismatch carries the value seen.
	jsonl := filepath.Join(dir, "history.jsonl")
	rec, err := history.Create(jsonl, time.Now())
	require.NoError(t, err)
	for _, e := range new(hist).write(0, "a", 1).inv(1, "cas", "a", history.Pair(1, 2)).fail(1, "cas", "a", null, history.ErrCASMismatch).ev {
		_, err := rec.Record(e)
		require.NoError(t, err)
	}
	require.NoError(t, rec.Close())

	for _, path := range []string{edn, log, jsonl} {
		for _, c := range []struct {
			failCAS history.FailCAS
			want    Verdict
			obs     int
		}{{"", Invalid, 1}, {history.FailCASObserved, Invalid, 1}, {history.FailCASNeverHappened, Valid, 0}} {
			res, err := CheckFile(path, Options{Timeout: 10 * time.Second, FailCAS: c.failCAS})
			require.NoError(t, err)
			require.Equal(t, c.want, res.Verdict, "%s, fail-cas %q", path, c.failCAS)
			require.Equal(t, c.obs, res.Stats.Observations, "%s, fail-cas %q", path, c.failCAS)
		}
	}
	_, err = CheckFile(edn, Options{FailCAS: "maybe"})
	require.ErrorContains(t, err, `checker: unknown fail-cas reading "maybe"`)
	_, err = Check(nil, Options{FailCAS: "maybe"})
	require.ErrorContains(t, err, `checker: unknown fail-cas reading "maybe"`)
}
