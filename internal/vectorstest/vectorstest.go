// Package vectorstest finds the Jepsen etcd test vectors (shared/vectors/jepsen-etcd: fifty register histories
// in EDN and log form, with their verdicts) for every test that uses them. It is test infrastructure only.
package vectorstest

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Fallback is where the vectors are on the project's machines when nothing else finds them (a variable only so
// that this package's own tests can move it).
var Fallback = "/work/shared/vectors/jepsen-etcd"

// Required reports whether missing vectors fail a test rather than skip it: on CI (CI=true) and wherever
// SKEPTIC_REQUIRE_DOCKER=1 asks that nothing be skipped.
func Required() bool {
	return os.Getenv("CI") == "true" || os.Getenv("SKEPTIC_REQUIRE_DOCKER") == "1"
}

// Dir returns the folder of the vectors, as Find finds it. When it finds none, the test fails if Required,
// and is skipped otherwise; a SKEPTIC_VECTORS that names no vectors always fails.
func Dir(tb testing.TB) string {
	tb.Helper()
	dir, err := Find()
	var envErr *envError
	switch {
	case err == nil:
		return dir
	case errors.As(err, &envErr):
		tb.Fatal(err.Error())
	case Required():
		tb.Fatal(err.Error() + " (CI=true or SKEPTIC_REQUIRE_DOCKER=1: not skipping)")
	default:
		tb.Skip(err.Error())
	}
	return ""
}

// Find returns the folder of the vectors, the first of:
//   - $SKEPTIC_VECTORS, the jepsen-etcd folder or the vectors folder above it (set but holding no
//     verdicts.tsv: an error, whatever else exists);
//   - ../shared/vectors/jepsen-etcd beside the repository's root (the folder of go.mod);
//   - Fallback.
func Find() (string, error) {
	if env := os.Getenv("SKEPTIC_VECTORS"); env != "" {
		for _, c := range []string{env, filepath.Join(env, "jepsen-etcd")} {
			if hasVerdicts(c) {
				return c, nil
			}
		}
		return "", &envError{fmt.Sprintf("SKEPTIC_VECTORS=%s holds no verdicts.tsv (nor does its jepsen-etcd folder)", env)}
	}
	var tried []string
	if root, ok := repoRoot(); ok {
		c := filepath.Join(filepath.Dir(root), "shared", "vectors", "jepsen-etcd")
		if hasVerdicts(c) {
			return c, nil
		}
		tried = append(tried, c)
	}
	if hasVerdicts(Fallback) {
		return Fallback, nil
	}
	tried = append(tried, Fallback)
	return "", fmt.Errorf("jepsen-etcd vectors not found (looked in %s); set SKEPTIC_VECTORS", strings.Join(tried, " and "))
}

// envError is Find's error for a SKEPTIC_VECTORS that names no vectors.
type envError struct{ msg string }

func (e *envError) Error() string { return e.msg }

func hasVerdicts(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, "verdicts.tsv"))
	return err == nil && st.Mode().IsRegular()
}

// repoRoot is the folder of the go.mod above the working directory (go test runs in the package's folder).
func repoRoot() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// Verdicts reads dir/verdicts.tsv: vector name (etcd_000, without extension) -> linearizable.
func Verdicts(tb testing.TB, dir string) map[string]bool {
	tb.Helper()
	f, err := os.Open(filepath.Join(dir, "verdicts.tsv"))
	require.NoError(tb, err)
	defer f.Close()
	out := map[string]bool{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		fields := strings.Split(sc.Text(), "\t")
		require.Len(tb, fields, 2, "verdicts.tsv:%d", line)
		if line == 1 {
			require.Equal(tb, []string{"file", "linearizable"}, fields)
			continue
		}
		require.Contains(tb, []string{"true", "false"}, fields[1], "verdicts.tsv:%d", line)
		out[fields[0]] = fields[1] == "true"
	}
	require.NoError(tb, sc.Err())
	return out
}
