package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/client"

	"github.com/skeptic-dev/skeptic/internal/elfpack"
)

// ImageRepo is the repository of the node images: skeptic-node:<first 16 hex digits of a sha256>, of the binary
// alone for a static binary, of every file of the build context for a dynamic one.
const ImageRepo = "skeptic-node"

const dockerfile = "FROM scratch\nCOPY skeptic /skeptic\nENTRYPOINT [\"/skeptic\"]\n"

// ImageTag returns the tag of the image that packs the binary at path.
func ImageTag(path string) (string, error) {
	files, err := contextFiles(path)
	if err != nil {
		return "", err
	}
	return contextTag(ImageRepo, files), nil
}

func imageTag(bin []byte) string { return imageTagIn(ImageRepo, bin) }

func imageTagIn(repo string, bin []byte) string {
	sum := sha256.Sum256(bin)
	return repo + ":" + hex.EncodeToString(sum[:])[:16]
}

// contextFile is one file of an image's build context.
type contextFile struct {
	name string
	mode int64
	data []byte
}

// contextFiles returns the build context of the image that packs the program at path.
//
// A static program is packed alone, as /skeptic. A dynamically linked one is packed with its ELF interpreter and
// every shared library it needs (internal/elfpack), each at the absolute path where the host has it (as a
// regular file: symbolic links are followed), and LD_LIBRARY_PATH names the libraries' directories, since the
// image has no ld.so.cache and the program, moved to /skeptic, has another $ORIGIN.
func contextFiles(path string) ([]contextFile, error) {
	if err := checkELF(path); err != nil {
		return nil, err
	}
	bin, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("node binary: %w", err)
	}
	deps, err := elfpack.Resolve(path)
	if err != nil {
		return nil, fmt.Errorf("node binary %s cannot be packed into a FROM scratch image: %w", path, err)
	}
	if deps.Static() {
		return []contextFile{{"Dockerfile", 0o644, []byte(dockerfile)}, {"skeptic", 0o755, bin}}, nil
	}
	var df strings.Builder
	df.WriteString("FROM scratch\nCOPY rootfs/ /\n")
	if dirs := deps.LibDirs(); len(dirs) > 0 {
		fmt.Fprintf(&df, "ENV LD_LIBRARY_PATH=%s\n", strings.Join(dirs, ":"))
	}
	df.WriteString("ENTRYPOINT [\"/skeptic\"]\n")
	files := []contextFile{{"Dockerfile", 0o644, []byte(df.String())}, {"rootfs/skeptic", 0o755, bin}}
	for i, f := range deps.Files() {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("node binary %s: reading %s, which it needs: %w", path, f, err)
		}
		mode := int64(0o644)
		if i == 0 && f == deps.Interp {
			mode = 0o755
		}
		files = append(files, contextFile{"rootfs" + f, mode, data})
	}
	return files, nil
}

// contextTag returns the tag of the image built from files: for a static program (the context as
// contextFiles makes it: a Dockerfile and skeptic) the hash of the binary, as before dynamic programs were
// packed; otherwise the hash of every file's name, mode and contents.
func contextTag(repo string, files []contextFile) string {
	if len(files) == 2 && files[1].name == "skeptic" {
		return imageTagIn(repo, files[1].data)
	}
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00%o\x00%d\x00", f.name, f.mode, len(f.data))
		h.Write(f.data)
	}
	return repo + ":" + hex.EncodeToString(h.Sum(nil))[:16]
}

// contextTar writes files as a tar archive, with an entry for every directory they are in.
func contextTar(files []contextFile) (*bytes.Buffer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	for _, f := range files {
		var parents []string
		for d := filepath.Dir(f.name); d != "." && d != "/" && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
			parents = append(parents, d)
		}
		for i := len(parents) - 1; i >= 0; i-- {
			hdr := &tar.Header{Typeflag: tar.TypeDir, Name: parents[i] + "/", Mode: 0o755, ModTime: time.Unix(0, 0)}
			if err := tw.WriteHeader(hdr); err != nil {
				return nil, fmt.Errorf("build context: %w", err)
			}
		}
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: time.Unix(0, 0)}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("build context: %w", err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, fmt.Errorf("build context: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("build context: %w", err)
	}
	return &buf, nil
}

// EnsureImage returns the tag of a FROM scratch image whose entrypoint is the binary at path (a static binary
// alone, a dynamic one with its interpreter and libraries, see contextFiles), building it only when the engine
// does not have it yet, and writes to log whether it was built (and how long it took) or reused.
func EnsureImage(ctx context.Context, cli *client.Client, path string, log io.Writer) (string, error) {
	return ensureImage(ctx, cli, path, ImageRepo, log)
}

// ensureImage is EnsureImage with the image repository as a parameter (tests use their own).
func ensureImage(ctx context.Context, cli *client.Client, path, repo string, log io.Writer) (string, error) {
	t0 := time.Now()
	files, err := contextFiles(path)
	if err != nil {
		return "", err
	}
	tag := contextTag(repo, files)
	if _, err := cli.ImageInspect(ctx, tag); err == nil {
		fmt.Fprintf(log, "image %s reused\n", tag)
		return tag, nil
	} else if !client.IsErrNotFound(err) {
		return "", fmt.Errorf("inspecting image %s: %w", tag, err)
	}
	buf, err := contextTar(files)
	if err != nil {
		return "", err
	}
	packed := ""
	if len(files) > 2 {
		packed = fmt.Sprintf(" (dynamically linked: packed with %d files it needs)", len(files)-2)
	}
	resp, err := cli.ImageBuild(ctx, buf, build.ImageBuildOptions{
		Tags:        []string{tag},
		Labels:      map[string]string{LabelSkeptic: "1"},
		Dockerfile:  "Dockerfile",
		Remove:      true,
		ForceRemove: true,
	})
	if err != nil {
		return "", fmt.Errorf("building image %s: %w", tag, err)
	}
	defer resp.Body.Close()
	var out strings.Builder
	dec := json.NewDecoder(resp.Body)
	for {
		var m struct {
			Stream string `json:"stream"`
			Error  string `json:"error"`
		}
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return "", fmt.Errorf("building image %s: reading the engine's answer: %w", tag, err)
		}
		if m.Error != "" {
			return "", fmt.Errorf("building image %s: %s (output: %s)", tag, m.Error, strings.TrimSpace(out.String()))
		}
		out.WriteString(m.Stream)
	}
	if _, err := cli.ImageInspect(ctx, tag); err != nil {
		return "", fmt.Errorf("building image %s: the build ended but the image is missing: %w (output: %s)", tag, err, strings.TrimSpace(out.String()))
	}
	fmt.Fprintf(log, "image %s built in %s%s\n", tag, time.Since(t0).Round(100*time.Millisecond), packed)
	return tag, nil
}

// CheckStatic returns an error unless path is an ELF executable without a program interpreter, that is one that
// runs in a FROM scratch image by itself, with nothing packed beside it. (A node binary need not be: CheckBinary
// accepts any that checkPackable does.) The harness's static build of skeptic (harness.StaticBinary) must be.
func CheckStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s is not an ELF executable: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked", path)
		}
	}
	return nil
}

// checkPackable returns an error unless path is an ELF executable that can run in a FROM scratch image: a static
// one, or a dynamic one whose ELF interpreter and shared libraries are all found (the error names a missing
// library and what needs it).
func checkPackable(path string) error {
	if err := checkELF(path); err != nil {
		return err
	}
	if _, err := elfpack.Resolve(path); err != nil {
		return fmt.Errorf("node binary %s cannot be packed into a FROM scratch image: %w", path, err)
	}
	return nil
}

// checkELF returns an error unless path is an ELF file.
func checkELF(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("node binary %s is not an ELF executable the docker runtime can pack: %w", path, err)
	}
	return f.Close()
}
