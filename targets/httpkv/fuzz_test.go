package httpkv

import (
	"testing"

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
			if status < 200 || status > 299 {
				t.Fatalf("ok for status %d", status)
			}
		case history.Fail:
			if status < 400 || status > 599 {
				t.Fatalf("fail for status %d", status)
			}
			if out.Error == history.ErrCASMismatch && op.F != targets.FCAS {
				t.Fatalf("cas-mismatch for a %s", op.F)
			}
		case history.Info:
			if out.Error == "" {
				t.Fatal("info without a reason")
			}
		default:
			t.Fatalf("outcome type %q", out.Type)
		}
		if out.Value != nil && !(out.Type == history.Ok && op.F == targets.FRead) && out.Error != history.ErrCASMismatch {
			t.Fatalf("value on %+v", out)
		}
	})
}
