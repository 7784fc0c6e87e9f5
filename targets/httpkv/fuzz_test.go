package httpkv

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/targets"
)

// FuzzClassify checks the outcomes table's invariants on arbitrary answers: never a panic; ok only for 2xx;
// fail only for a 4xx/5xx that is a cas-mismatch of a cas or says "definite"; a value only on an ok read or a
// cas-mismatch.
func FuzzClassify(f *testing.F) {
	f.Add(uint8(2), 200, []byte(`{"value": 7}`))
	f.Add(uint8(2), 409, []byte(`{"error": "cas-mismatch", "value": 3}`))
	f.Add(uint8(1), 503, []byte(`{"error": "no leader", "definite": true}`))
	f.Add(uint8(0), 200, []byte(`{"value": null}`))
	f.Fuzz(func(t *testing.T, which uint8, status int, body []byte) {
		op := []targets.Op{read, write, cas}[int(which)%3]
		out := classifyResponse(op, status, body)
		switch out.Type {
		case history.Ok:
			require.True(t, status >= 200 && status <= 299, "ok for status %d", status)
		case history.Fail:
			require.True(t, status >= 400 && status <= 599, "fail for status %d", status)
			require.False(t, out.Error == history.ErrCASMismatch && op.F != targets.FCAS, "cas-mismatch for a %s", op.F)
		case history.Info:
			require.NotEmpty(t, out.Error, "info without a reason")
		default:
			require.Failf(t, "unknown outcome", "outcome type %q", out.Type)
		}
		if out.Value != nil {
			require.True(t, (out.Type == history.Ok && op.F == targets.FRead) || out.Error == history.ErrCASMismatch,
				"value on %+v", out)
		}
	})
}
