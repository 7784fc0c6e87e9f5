package checker

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/internal/vectorstest"
)

// FuzzCheck feeds arbitrary histories to Check: it must return a verdict or an error, never panic or hang.
func FuzzCheck(f *testing.F) {
	i := history.Int
	for _, h := range []*hist{
		new(hist).write(0, "a", 1).read(1, "a", i(1)),
		new(hist).write(0, "a", 1).inv(1, "cas", "a", history.Pair(1, 2)).fail(1, "cas", "a", i(1), history.ErrCASMismatch),
		new(hist).inv(0, "write", "a", i(1)).info(0, "write", "a", i(1)).read(1, "a", i(1)),
	} {
		var b strings.Builder
		for _, e := range h.ev {
			line, err := json.Marshal(e)
			if err != nil {
				f.Fatal(err)
			}
			b.Write(line)
			b.WriteByte('\n')
		}
		f.Add(b.String())
	}
	f.Fuzz(func(t *testing.T, in string) {
		events, err := history.Read(strings.NewReader(in), "f")
		if err != nil {
			return
		}
		start := time.Now()
		res, err := Check(events, Options{Timeout: 200 * time.Millisecond, Visualize: true})
		took := time.Since(start)
		require.LessOrEqual(t, took, 5*time.Second, "Check took %v", took)
		if err != nil {
			return
		}
		_, err = res.WriteVisualizations(t.TempDir())
		require.NoError(t, err)
	})
}

// The value of a read's ok in each form: the one value that both forms carry on the same line (an info takes
// its invocation's value in the log, but carries its own in EDN).
var (
	ednValue = regexp.MustCompile(`^\{:type :ok, :f :read, :value (-?[0-9]+|nil),`)
	logValue = regexp.MustCompile(`\t:ok\t:read\t(-?[0-9]+|nil)$`)
)

// FuzzJepsenFormsAgree cuts a vector after some lines and changes the value of one read, the same way in its
// .edn and its .log: the two importers, on their separate paths, must give the same events, and the checker the
// same verdict and counts (or both must refuse the history).
func FuzzJepsenFormsAgree(f *testing.F) {
	dir := vectorstest.Dir(f)
	f.Add(uint8(0), uint16(60), uint16(23), int8(2), false)
	f.Add(uint8(2), uint16(170), uint16(5), int8(-1), true)
	f.Add(uint8(7), uint16(20), uint16(0), int8(0), false)
	type form struct {
		ext string
		re  *regexp.Regexp
	}
	forms := []form{{".edn", ednValue}, {".log", logValue}}
	texts := map[string][][]string{}
	for _, fm := range forms {
		for n := range 50 {
			b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("etcd_%03d%s", n, fm.ext)))
			require.NoError(f, err)
			texts[fm.ext] = append(texts[fm.ext], strings.Split(strings.TrimSuffix(string(b), "\n"), "\n"))
		}
	}
	f.Fuzz(func(t *testing.T, vector uint8, cut, line uint16, value int8, neverHappened bool) {
		opts := Options{Timeout: 300 * time.Millisecond}
		if neverHappened {
			opts.FailCAS = history.FailCASNeverHappened
		}
		var events [2][]history.Event
		var errs [2]error
		var results [2]Result
		for i, fm := range forms {
			lines := texts[fm.ext][int(vector)%50]
			lines = append([]string(nil), lines[:min(int(cut), len(lines))]...)
			if int(line) < len(lines) {
				v := "nil"
				if value >= 0 {
					v = strconv.Itoa(int(value))
				}
				if loc := fm.re.FindStringSubmatchIndex(lines[line]); loc != nil {
					lines[line] = lines[line][:loc[2]] + v + lines[line][loc[3]:]
				}
			}
			text := strings.Join(lines, "\n") + "\n"
			r := history.ReadJepsenLog
			if fm.ext == ".edn" {
				r = history.ReadJepsenEDN
			}
			var err error
			events[i], err = r(strings.NewReader(text), "f"+fm.ext, history.JepsenOptions{FailCAS: opts.FailCAS})
			require.NoError(t, err, "%s does not import", fm.ext)
			results[i], errs[i] = Check(events[i], opts)
		}
		require.Equal(t, events[0], events[1], "the two forms import differently")
		require.Equal(t, errs[0] == nil, errs[1] == nil, "errors: %v, %v", errs[0], errs[1])
		if errs[0] == nil && results[0].Verdict != Unknown && results[1].Verdict != Unknown {
			require.Equal(t, results[0].Verdict, results[1].Verdict)
			require.Equal(t, results[0].Stats, results[1].Stats)
		}
	})
}
