package harness

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"

	"github.com/skeptic-dev/skeptic/harness/docker"
	"github.com/skeptic-dev/skeptic/internal/testbin"
)

// BenchmarkStartup (issue 9): the time from the start of a run (Run, what `skeptic run` calls) to its first
// operation, Result.FirstOp (results.json's first_op), for 5 Paxos nodes in Docker containers:
//
//	warm   the node image is cached (an untimed run builds it first)
//	cold   the node image does not exist: each iteration runs a copy of the node binary with a unique trailer
//	       appended (still the same program), so its content-hash tag is new and the image is built; the image is
//	       removed afterwards, by that tag
//
// Reported: first-op-ms, the median over the iterations (goal: <= 1500 warm). The node binary is the static
// skeptic built once for the tests (--node-binary), so no compile is timed. Every image the benchmark built
// is removed at the end, by its tag; images it found cached are left alone.
//
// Run: go test -run XXX -bench Startup -benchtime 5x ./harness
func BenchmarkStartup(b *testing.B) {
	ctx := context.Background()
	requireRuntime(b, RuntimeDocker)
	bin := testbin.Skeptic(b)
	startup := func(b *testing.B, binary string) (time.Duration, string) {
		tc := Default()
		tc.Runtime = RuntimeDocker
		tc.Nodes = 5
		tc.NodeBinary = binary
		tc.TimeLimit = Duration(time.Second)
		tc.Recovery = 0
		tc.Store = b.TempDir()
		var out bytes.Buffer
		tc.Out = &out
		res, err := Run(ctx, tc)
		if err != nil {
			b.Fatalf("%v\n%s", err, out.String())
		}
		if res.FirstOp <= 0 {
			b.Fatalf("no first op:\n%s", out.String())
		}
		return res.FirstOp.D(), out.String()
	}
	report := func(b *testing.B, v []float64) {
		slices.Sort(v)
		b.ReportMetric(0, "ns/op")
		b.ReportMetric(medianOf(v), "first-op-ms")
		b.ReportMetric(v[len(v)-1], "max-first-op-ms")
	}
	rt, err := docker.New()
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close()
	built := regexp.MustCompile(`image (` + docker.ImageRepo + `:[0-9a-z]+) built in`)
	// removeBuilt removes the image a run's output says it built: only what this benchmark created.
	removeBuilt := func(b *testing.B, out string) {
		if m := built.FindStringSubmatch(out); m != nil {
			if _, err := rt.Client().ImageRemove(ctx, m[1], image.RemoveOptions{PruneChildren: true}); err != nil {
				b.Errorf("remove the image this benchmark built: %v", err)
			}
		}
	}
	b.Run("warm", func(b *testing.B) {
		_, out := startup(b, bin) // builds the image if it is not cached yet
		defer removeBuilt(b, out)
		var v []float64
		for range b.N {
			d, _ := startup(b, bin)
			v = append(v, float64(d.Milliseconds()))
		}
		report(b, v)
	})
	b.Run("cold", func(b *testing.B) {
		var v []float64
		for range b.N {
			unique := uniqueCopy(b, bin)
			d, out := startup(b, unique)
			if !built.MatchString(out) {
				b.Fatalf("the run did not build an image:\n%s", out)
			}
			removeBuilt(b, out)
			v = append(v, float64(d.Milliseconds()))
		}
		report(b, v)
	})
}

// uniqueCopy copies the binary at path with 16 random bytes appended (an ELF file runs the same with a trailer),
// so that its image tag, a hash of the content, is one no engine has.
func uniqueCopy(b *testing.B, path string) string {
	src, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	dst := filepath.Join(b.TempDir(), "skeptic")
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		b.Fatal(err)
	}
	nonce := make([]byte, 16)
	rand.Read(nonce)
	if _, err := io.Copy(f, src); err != nil {
		b.Fatal(err)
	}
	if _, err := f.WriteString("\nskeptic-startup-bench-" + hex.EncodeToString(nonce) + "\n"); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return dst
}
