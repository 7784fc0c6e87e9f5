package elfpack

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// etcdBinary returns Debian's /usr/bin/etcd, a dynamically linked program that .ci/run installs; without it the
// test skips, unless SKEPTIC_REQUIRE_DOCKER=1 (CI), where it fails.
func etcdBinary(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("etcd")
	if err != nil {
		if os.Getenv("SKEPTIC_REQUIRE_DOCKER") == "1" {
			require.NoError(t, err, "SKEPTIC_REQUIRE_DOCKER=1 but no etcd program (apt-get install etcd-server)")
		}
		t.Skip("no etcd program (apt-get install etcd-server)")
	}
	return p
}

func TestResolveEtcd(t *testing.T) {
	bin := etcdBinary(t)
	d, err := Resolve(bin)
	require.NoError(t, err)
	assert.False(t, d.Static())
	assert.Equal(t, bin, d.Program)
	// The interpreter is what PT_INTERP says: an absolute path to a file that is there.
	require.True(t, filepath.IsAbs(d.Interp), d.Interp)
	assert.Contains(t, filepath.Base(d.Interp), "ld-linux")
	st, err := os.Stat(d.Interp)
	require.NoError(t, err)
	assert.True(t, st.Mode().IsRegular())
	i := slices.IndexFunc(d.Libs, func(l Lib) bool { return l.Name == "libc.so.6" })
	require.GreaterOrEqual(t, i, 0, "libc.so.6 among %+v", d.Libs)
	assert.Equal(t, bin, d.Libs[i].NeededBy)
	assert.Equal(t, "libc.so.6", filepath.Base(d.Libs[i].Path))
	files := d.Files()
	assert.Equal(t, d.Interp, files[0])
	assert.Contains(t, files, d.Libs[i].Path)
	assert.Contains(t, d.LibDirs(), filepath.Dir(d.Libs[i].Path))
	// libc needs the interpreter again (as ld-linux-x86-64.so.2): it is not packed twice.
	for _, l := range d.Libs {
		assert.NotContains(t, l.Name, "ld-linux", "the interpreter is loaded already")
	}
}

// lddFiles returns the real paths of the files ldd says a program loads (libraries and the interpreter). ldd
// is the oracle here only: the package never runs it.
func lddFiles(t *testing.T, bin string) []string {
	t.Helper()
	out, err := exec.Command("ldd", bin).Output()
	require.NoError(t, err, "ldd %s", bin)
	var files []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		var p string
		switch {
		case len(f) >= 3 && f[1] == "=>":
			p = f[2]
		case len(f) >= 1 && strings.HasPrefix(f[0], "/"):
			p = f[0]
		default:
			continue // linux-vdso.so.1: in the kernel
		}
		real, err := filepath.EvalSymlinks(p)
		require.NoError(t, err)
		files = append(files, real)
	}
	slices.Sort(files)
	return slices.Compact(files)
}

func realFiles(t *testing.T, d *Deps) []string {
	t.Helper()
	var out []string
	for _, f := range d.Files() {
		real, err := filepath.EvalSymlinks(f)
		require.NoError(t, err)
		out = append(out, real)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestResolveMatchesLdd compares the transitive resolution with the loader's own answer on the machine's
// programs, among them nft (libnftables needs libmnl, libnftnl, ...; libedit needs libbsd, which needs libmd).
func TestResolveMatchesLdd(t *testing.T) {
	if _, err := exec.LookPath("ldd"); err != nil {
		t.Skip("no ldd to compare with")
	}
	transitive := 0
	for _, bin := range []string{"/usr/bin/etcd", "/usr/sbin/nft", "/usr/bin/curl", "/usr/bin/ssh", "/usr/bin/git", "/usr/bin/gpg"} {
		if _, err := os.Stat(bin); err != nil {
			continue
		}
		t.Run(filepath.Base(bin), func(t *testing.T) {
			d, err := Resolve(bin)
			require.NoError(t, err)
			assert.Equal(t, lddFiles(t, bin), realFiles(t, d))
			for _, l := range d.Libs {
				if l.NeededBy != bin {
					transitive++
					break
				}
			}
		})
	}
	if os.Getenv("SKEPTIC_REQUIRE_DOCKER") == "1" {
		assert.Positive(t, transitive, "no program with transitive dependencies was compared")
	}
}

// gcc compiles with the machine's C compiler, skipping the test without one.
func gcc(t *testing.T, dir string, args ...string) {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no gcc")
	}
	cmd := exec.Command("gcc", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "gcc %v: %s", args, out)
}

// buildChain builds prog -> libfoo.so (in lib/) -> libbar.so (in lib/deep/), with the given linker flags for the
// program's and libfoo's search paths.
func buildChain(t *testing.T, progFlags, fooFlags []string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "lib", "deep"), 0o755))
	for name, src := range map[string]string{
		"bar.c":  "int bar(void) { return 41; }\n",
		"foo.c":  "int bar(void);\nint foo(void) { return bar() + 1; }\n",
		"prog.c": "int foo(void);\nint main(void) { return foo() == 42 ? 0 : 1; }\n",
	} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644))
	}
	gcc(t, dir, "-shared", "-fPIC", "-Wl,-soname,libbar.so", "-o", "lib/deep/libbar.so", "bar.c")
	gcc(t, dir, append([]string{"-shared", "-fPIC", "-Wl,-soname,libfoo.so", "-o", "lib/libfoo.so", "foo.c",
		"-Llib/deep", "-lbar"}, fooFlags...)...)
	gcc(t, dir, append([]string{"-o", "prog", "prog.c", "-Llib", "-lfoo", "-Wl,-rpath-link,lib/deep"}, progFlags...)...)
	return dir
}

func TestResolveRunpathOrigin(t *testing.T) {
	dir := buildChain(t, []string{"-Wl,--enable-new-dtags,-rpath,$ORIGIN/lib"}, []string{"-Wl,--enable-new-dtags,-rpath,$ORIGIN/deep"})
	prog := filepath.Join(dir, "prog")
	out, err := exec.Command(prog).CombinedOutput()
	require.NoError(t, err, "the program runs: %s", out)
	d, err := Resolve(prog)
	require.NoError(t, err)
	names := map[string]Lib{}
	for _, l := range d.Libs {
		names[l.Name] = l
	}
	assert.Equal(t, filepath.Join(dir, "lib", "libfoo.so"), names["libfoo.so"].Path)
	assert.Equal(t, prog, names["libfoo.so"].NeededBy)
	assert.Equal(t, filepath.Join(dir, "lib", "deep", "libbar.so"), names["libbar.so"].Path)
	assert.Equal(t, filepath.Join(dir, "lib", "libfoo.so"), names["libbar.so"].NeededBy)
	assert.Contains(t, names, "libc.so.6")
	assert.Equal(t, lddFiles(t, prog), realFiles(t, d))

	// Without libbar the error names it, who needs it, and where it was looked for.
	require.NoError(t, os.Remove(filepath.Join(dir, "lib", "deep", "libbar.so")))
	_, err = Resolve(prog)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "shared library libbar.so, needed by "+filepath.Join(dir, "lib", "libfoo.so")+", not found")
	assert.Contains(t, err.Error(), filepath.Join(dir, "lib", "deep"))
}

// TestResolveRpathInherited: a DT_RPATH (old-style) of the program also serves the libraries it loads, when they
// have no DT_RUNPATH; a DT_RUNPATH of the program does not.
func TestResolveRpathInherited(t *testing.T) {
	dir := buildChain(t, []string{"-Wl,--disable-new-dtags,-rpath,$ORIGIN/lib:$ORIGIN/lib/deep"}, nil)
	prog := filepath.Join(dir, "prog")
	d, err := Resolve(prog)
	require.NoError(t, err)
	assert.Contains(t, d.Files(), filepath.Join(dir, "lib", "deep", "libbar.so"))

	dir = buildChain(t, []string{"-Wl,--enable-new-dtags,-rpath,$ORIGIN/lib:$ORIGIN/lib/deep"}, nil)
	_, err = Resolve(filepath.Join(dir, "prog"))
	assert.ErrorContains(t, err, "shared library libbar.so, needed by "+filepath.Join(dir, "lib", "libfoo.so")+", not found")
}

func TestResolveStatic(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\nfunc main() {}\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module x\ngo 1.21\n"), 0o644))
	cmd := exec.Command("go", "build", "-o", "static", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	d, err := Resolve(filepath.Join(dir, "static"))
	require.NoError(t, err)
	assert.True(t, d.Static())
	assert.Empty(t, d.Files())
}

func TestResolveNotELF(t *testing.T) {
	p := filepath.Join(t.TempDir(), "script")
	require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\necho hi\n"), 0o755))
	_, err := Resolve(p)
	assert.ErrorContains(t, err, "program "+p+":")
	_, err = Resolve(filepath.Join(t.TempDir(), "missing"))
	assert.ErrorContains(t, err, "missing")
}

func TestLdSoConf(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "conf.d"), 0o755))
	write := func(name, s string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644))
	}
	write("ld.so.conf", "# comment\n/opt/a\ninclude conf.d/*.conf\n/opt/b # trailing\nhwcap 0 nosegneg\n")
	write("conf.d/2.conf", "/opt/two\n")
	write("conf.d/1.conf", "/opt/one,/opt/uno\n/opt/a\n")
	write("conf.d/skip.txt", "/opt/never\n")
	dirs, err := ldSoConfDirs(filepath.Join(dir, "ld.so.conf"))
	require.NoError(t, err)
	assert.Equal(t, []string{"/opt/a", "/opt/one", "/opt/uno", "/opt/two", "/opt/b"}, dirs)

	dirs, err = ldSoConfDirs(filepath.Join(dir, "absent.conf"))
	require.NoError(t, err)
	assert.Empty(t, dirs)

	write("conf.d/3.conf", "\n\nrelative/dir\n")
	_, err = ldSoConfDirs(filepath.Join(dir, "ld.so.conf"))
	assert.ErrorContains(t, err, filepath.Join(dir, "conf.d", "3.conf")+":3: library directory \"relative/dir\"")
}
