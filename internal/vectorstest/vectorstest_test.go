package vectorstest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// recorder is a testing.TB that records whether Dir failed or skipped, and stops Dir there as the real ones do.
type recorder struct {
	testing.TB
	fatal, skip string
}

type stopped struct{}

func (r *recorder) Helper() {}
func (r *recorder) Fatal(args ...any) {
	r.fatal = fmt.Sprint(args...)
	panic(stopped{})
}
func (r *recorder) Fatalf(format string, args ...any) { r.Fatal(fmt.Sprintf(format, args...)) }
func (r *recorder) Skip(args ...any) {
	r.skip = fmt.Sprint(args...)
	panic(stopped{})
}
func (r *recorder) Skipf(format string, args ...any) { r.Skip(fmt.Sprintf(format, args...)) }

func dir(t *testing.T) (string, *recorder) {
	r := &recorder{TB: t}
	var got string
	func() {
		defer func() {
			if p := recover(); p != nil {
				if _, ok := p.(stopped); !ok {
					panic(p)
				}
			}
		}()
		got = Dir(r)
	}()
	return got, r
}

func TestDir(t *testing.T) {
	vectors := t.TempDir()
	etcd := filepath.Join(vectors, "jepsen-etcd")
	require.NoError(t, os.Mkdir(etcd, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(etcd, "verdicts.tsv"), []byte("file\tlinearizable\netcd_000\tfalse\n"), 0o644))
	empty := t.TempDir()
	old := Fallback
	t.Cleanup(func() { Fallback = old })
	Fallback = empty
	t.Chdir(t.TempDir()) // no go.mod above: no repository-relative folder
	t.Setenv("CI", "")
	t.Setenv("SKEPTIC_REQUIRE_DOCKER", "")

	// SKEPTIC_VECTORS: the folder itself, or the vectors folder above it.
	for _, env := range []string{etcd, vectors} {
		t.Setenv("SKEPTIC_VECTORS", env)
		got, r := dir(t)
		require.Equal(t, etcd, got)
		require.Empty(t, r.fatal+r.skip)
	}
	require.Equal(t, map[string]bool{"etcd_000": false}, Verdicts(t, etcd))
	// A SKEPTIC_VECTORS that names no vectors fails, even off CI.
	t.Setenv("SKEPTIC_VECTORS", empty)
	_, r := dir(t)
	require.Contains(t, r.fatal, "SKEPTIC_VECTORS="+empty+" holds no verdicts.tsv")

	// Nothing found: skipped off CI, failed on it.
	t.Setenv("SKEPTIC_VECTORS", "")
	_, r = dir(t)
	require.Empty(t, r.fatal)
	require.Contains(t, r.skip, "jepsen-etcd vectors not found")
	for _, env := range []struct{ name, value string }{{"CI", "true"}, {"SKEPTIC_REQUIRE_DOCKER", "1"}} {
		t.Run(env.name, func(t *testing.T) {
			t.Setenv(env.name, env.value)
			_, r := dir(t)
			require.Empty(t, r.skip)
			require.Contains(t, r.fatal, "jepsen-etcd vectors not found (looked in "+empty+")")
		})
	}

	// The fallback, and the folder beside the repository's root.
	Fallback = etcd
	got, _ := dir(t)
	require.Equal(t, etcd, got)
	Fallback = empty
	root := filepath.Join(vectors, "..", filepath.Base(vectors)+"-repo")
	require.NoError(t, os.MkdirAll(filepath.Join(root, "pkg"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "go.mod"), []byte("module x\n"), 0o644))
	shared := filepath.Join(filepath.Dir(root), "shared", "vectors", "jepsen-etcd")
	require.NoError(t, os.MkdirAll(shared, 0o755))
	t.Cleanup(func() { os.RemoveAll(filepath.Join(filepath.Dir(root), "shared")); os.RemoveAll(root) })
	require.NoError(t, os.WriteFile(filepath.Join(shared, "verdicts.tsv"), []byte("file\tlinearizable\n"), 0o644))
	t.Chdir(filepath.Join(root, "pkg"))
	got, _ = dir(t)
	require.Equal(t, shared, got)
}
