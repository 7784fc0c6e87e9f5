package history

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestScanFileFormat: ScanFileFormat hands over the events ReadFileFormat returns, in every format and with the
// same errors, torn tails included, and stops at the callback's first error.
func TestScanFileFormat(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		return p
	}
	lines := strings.Join(recorderLines(t), "\n")
	files := map[string]Format{
		write("a.jsonl", lines+"\n"):                                                            FormatAuto,
		write("b.jsonl", lines+"\n"+`{"index":7,"ti`):                                           FormatSkeptic,
		write("c.jsonl", lines+"\n"+`{"index":7}`+"\n"):                                         FormatAuto,
		write("d.edn", "{:type :invoke, :f :write, :value 1, :process 0, :time 0, :index 0}\n"): FormatAuto,
		write("e.log", "INFO  jepsen.util - 0\t:invoke\t:write\t1\n"):                           FormatJepsenLog,
		write("f", "hello\n"):                                                                   FormatAuto,
		filepath.Join(dir, "missing"):                                                           FormatAuto,
	}
	for path, format := range files {
		want, wantFormat, wantErr := ReadFileFormat(path, format, JepsenOptions{})
		var got []Event
		gotFormat, gotErr := ScanFileFormat(path, format, JepsenOptions{}, func(e Event) error {
			got = append(got, e)
			return nil
		})
		require.Equal(t, want, got, path)
		require.Equal(t, wantFormat, gotFormat, path)
		require.Equal(t, wantErr == nil, gotErr == nil, path)
		if wantErr != nil {
			require.Equal(t, wantErr.Error(), gotErr.Error())
			require.Equal(t, errors.Is(wantErr, ErrTornTail), errors.Is(gotErr, ErrTornTail))
		}
	}
	stop := errors.New("stop")
	n := 0
	_, err := ScanFileFormat(filepath.Join(dir, "a.jsonl"), FormatAuto, JepsenOptions{}, func(Event) error { n++; return stop })
	require.ErrorIs(t, err, stop)
	require.Equal(t, 1, n)
}
