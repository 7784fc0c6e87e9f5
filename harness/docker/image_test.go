package docker

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/internal/elfpack"
)

// needGCC skips a test without a C compiler.
func needGCC(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no gcc")
	}
}

func run(t *testing.T, dir string, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %v: %s", name, args, out)
}

// cChain builds a C program that needs lib/libfoo.so, which needs lib/deep/libbar.so, found through RUNPATHs
// relative to $ORIGIN. The program prints "chain 42" (bar returns barValue, foo adds 1).
func cChain(t *testing.T, dir, barValue string) string {
	t.Helper()
	needGCC(t)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "lib", "deep"), 0o755))
	for name, src := range map[string]string{
		"bar.c":  "int bar(void) { return " + barValue + "; }\n",
		"foo.c":  "int bar(void);\nint foo(void) { return bar() + 1; }\n",
		"prog.c": "#include <stdio.h>\nint foo(void);\nint main(void) { printf(\"chain %d\\n\", foo()); return 0; }\n",
	} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644))
	}
	run(t, dir, nil, "gcc", "-shared", "-fPIC", "-Wl,-soname,libbar.so", "-o", "lib/deep/libbar.so", "bar.c")
	run(t, dir, nil, "gcc", "-shared", "-fPIC", "-Wl,-soname,libfoo.so", "-o", "lib/libfoo.so", "foo.c",
		"-Llib/deep", "-lbar", "-Wl,--enable-new-dtags,-rpath,$ORIGIN/deep")
	run(t, dir, nil, "gcc", "-o", "prog", "prog.c", "-Llib", "-lfoo", "-Wl,-rpath-link,lib/deep",
		"-Wl,--enable-new-dtags,-rpath,$ORIGIN/lib")
	return filepath.Join(dir, "prog")
}

// cgoProgram builds a Go program that calls C (so it is dynamically linked against libc) and prints its pid.
func cgoProgram(t *testing.T) string {
	t.Helper()
	needGCC(t)
	dir := t.TempDir()
	src := "package main\n\n// #include <unistd.h>\n// static int pid(void) { return getpid(); }\nimport \"C\"\nimport \"fmt\"\n\n" +
		"func main() { fmt.Printf(\"cgo pid %d\\n\", C.pid()) }\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module cgoprog\n\ngo 1.21\n"), 0o644))
	run(t, dir, []string{"CGO_ENABLED=1"}, "go", "build", "-o", "cgoprog", ".")
	return filepath.Join(dir, "cgoprog")
}

func TestContextOfDynamicBinary(t *testing.T) {
	dir := t.TempDir()
	prog := cChain(t, dir, "41")
	files, err := contextFiles(prog)
	require.NoError(t, err)
	deps, err := elfpack.Resolve(prog)
	require.NoError(t, err)
	names := map[string]contextFile{}
	for _, f := range files {
		names[f.name] = f
	}
	df := string(names["Dockerfile"].data)
	assert.Contains(t, df, "FROM scratch\nCOPY rootfs/ /\n")
	_, ldPath, ok := strings.Cut(df, "ENV LD_LIBRARY_PATH=")
	require.True(t, ok, df)
	ldPath, _, _ = strings.Cut(ldPath, "\n")
	assert.ElementsMatch(t, deps.LibDirs(), strings.Split(ldPath, ":"))
	assert.Subset(t, strings.Split(ldPath, ":"), []string{filepath.Join(dir, "lib"), filepath.Join(dir, "lib", "deep")})
	assert.Contains(t, df, `ENTRYPOINT ["/skeptic"]`)
	assert.Contains(t, names, "rootfs/skeptic")
	assert.Equal(t, int64(0o755), names["rootfs"+deps.Interp].mode, "the interpreter %s is packed, executable", deps.Interp)
	for _, want := range []string{filepath.Join(dir, "lib", "libfoo.so"), filepath.Join(dir, "lib", "deep", "libbar.so")} {
		assert.Contains(t, names, "rootfs"+want)
	}
	assert.Len(t, files, 2+len(deps.Files()), "Dockerfile, the program, and every file it needs")

	// The tag covers every packed file: another libbar (two levels down) is another image.
	tag1, err := ImageTag(prog)
	require.NoError(t, err)
	assert.Equal(t, contextTag(ImageRepo, files), tag1)
	cChain(t, dir, "40")
	tag2, err := ImageTag(prog)
	require.NoError(t, err)
	assert.NotEqual(t, tag1, tag2, "changing a transitive library changes the tag")
	assert.Regexp(t, `^skeptic-node:[0-9a-f]{16}$`, tag2)

	// A missing library is named, with what needs it.
	require.NoError(t, os.Remove(filepath.Join(dir, "lib", "deep", "libbar.so")))
	_, err = ImageTag(prog)
	assert.ErrorContains(t, err, "shared library libbar.so, needed by "+filepath.Join(dir, "lib", "libfoo.so")+", not found")
	assert.ErrorContains(t, checkPackable(prog), "libbar.so")
}

// TestContextOfStaticBinary: a static binary packs alone, under the tag of its own hash, as before.
func TestContextOfStaticBinary(t *testing.T) {
	bin := testNode(t)
	files, err := contextFiles(bin)
	require.NoError(t, err)
	require.Len(t, files, 2)
	assert.Equal(t, dockerfile, string(files[0].data))
	assert.Equal(t, "skeptic", files[1].name)
	b, err := os.ReadFile(bin)
	require.NoError(t, err)
	tag, err := ImageTag(bin)
	require.NoError(t, err)
	assert.Equal(t, imageTag(b), tag)
	assert.NoError(t, checkPackable(bin))
	assert.ErrorContains(t, checkPackable("/etc/hostname"), "not an ELF executable")
}

// TestDynamicBinaryRunsInScratchImage packs dynamically linked programs into FROM scratch images and runs them:
// Debian's etcd, a cgo program, and a C program whose libraries are found through $ORIGIN RUNPATHs on the host.
// The images (in a repository of this test's own) and containers are removed at the end.
func TestDynamicBinaryRunsInScratchImage(t *testing.T) {
	rt := requireDocker(t)
	id := runID(t)
	repo := "skeptic-elftest-" + id
	type prog struct {
		name, path string
		args       []string
		want       string
	}
	var progs []prog
	if p, err := exec.LookPath("etcd"); err == nil {
		progs = append(progs, prog{"etcd", p, []string{"--version"}, "etcd Version: 3."})
	} else {
		require.NotEqual(t, "1", os.Getenv("SKEPTIC_REQUIRE_DOCKER"), "SKEPTIC_REQUIRE_DOCKER=1 but no etcd program (apt-get install etcd-server): %v", err)
	}
	if _, err := exec.LookPath("gcc"); err == nil {
		progs = append(progs,
			prog{"cgo", cgoProgram(t), nil, "cgo pid 1\n"},
			prog{"cchain", cChain(t, t.TempDir(), "41"), nil, "chain 42\n"})
	}
	if len(progs) == 0 {
		t.Skip("no etcd and no gcc: no dynamically linked program to pack")
	}
	for _, p := range progs {
		t.Run(p.name, func(t *testing.T) {
			deps, err := elfpack.Resolve(p.path)
			require.NoError(t, err)
			require.False(t, deps.Static(), "%s is dynamically linked", p.path)
			require.Error(t, CheckStatic(p.path))
			require.NoError(t, checkPackable(p.path))

			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			var log bytes.Buffer
			t0 := time.Now()
			tag, err := ensureImage(ctx, rt.cli, p.path, repo, &log)
			require.NoError(t, err, "log: %s", log.String())
			t.Logf("%s (%d files besides it): %s", p.path, len(deps.Files()), strings.TrimSpace(log.String()))
			t.Cleanup(func() {
				// Only this test's tag: an image that other tags share is just untagged.
				_, err := rt.cli.ImageRemove(context.Background(), tag, image.RemoveOptions{PruneChildren: true})
				assert.NoError(t, err)
			})
			assert.Contains(t, log.String(), "built in")
			assert.Contains(t, log.String(), "dynamically linked")
			_, err = ensureImage(ctx, rt.cli, p.path, repo, &log)
			require.NoError(t, err)
			assert.Contains(t, log.String(), tag+" reused")
			info, err := rt.cli.ImageInspect(ctx, tag)
			require.NoError(t, err)
			assert.Equal(t, "1", info.Config.Labels[LabelSkeptic])

			out, code := runOnce(t, rt, tag, repo+"-"+p.name, p.args)
			t.Logf("%s in its FROM scratch container (%s from the build): exit %d, output %q", p.name, time.Since(t0).Round(time.Millisecond), code, out)
			assert.Equal(t, int64(0), code, "output: %s", out)
			assert.Contains(t, out, p.want)
		})
	}
}

// runOnce runs a container of tag with args under name, waits for it to exit, and returns its output and exit
// code. The container is removed.
func runOnce(t *testing.T, rt *Runtime, tag, name string, args []string) (string, int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := rt.cli.ContainerCreate(ctx, &container.Config{Image: tag, Cmd: args, Labels: map[string]string{"skeptic.test": name}},
		&container.HostConfig{NetworkMode: "none"}, nil, nil, name)
	require.NoError(t, err)
	defer func() {
		assert.NoError(t, rt.cli.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true}))
	}()
	waitC, errC := rt.cli.ContainerWait(ctx, c.ID, container.WaitConditionNextExit)
	require.NoError(t, rt.cli.ContainerStart(ctx, c.ID, container.StartOptions{}))
	var code int64
	select {
	case w := <-waitC:
		code = w.StatusCode
	case err := <-errC:
		require.NoError(t, err, "waiting for %s", name)
	}
	rc, err := rt.cli.ContainerLogs(ctx, c.ID, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	require.NoError(t, err)
	defer rc.Close()
	var b bytes.Buffer
	_, err = stdcopy.StdCopy(&b, &b, rc)
	require.NoError(t, err)
	return b.String(), code
}
