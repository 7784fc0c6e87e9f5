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
	"strings"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/client"
)

// ImageRepo is the repository of the node images: skeptic-node:<first 16 hex digits of the binary's sha256>.
const ImageRepo = "skeptic-node"

const dockerfile = "FROM scratch\nCOPY skeptic /skeptic\nENTRYPOINT [\"/skeptic\"]\n"

// ImageTag returns the tag of the image that packs the binary at path.
func ImageTag(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("node binary: %w", err)
	}
	return imageTag(b), nil
}

func imageTag(bin []byte) string {
	sum := sha256.Sum256(bin)
	return ImageRepo + ":" + hex.EncodeToString(sum[:])[:16]
}

// EnsureImage returns the tag of a FROM scratch image whose entrypoint is the static binary at path, building
// it only when the engine does not have it yet, and writes to log whether it was built (and how long it took)
// or reused.
func EnsureImage(ctx context.Context, cli *client.Client, path string, log io.Writer) (string, error) {
	t0 := time.Now()
	bin, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("node binary: %w", err)
	}
	tag := imageTag(bin)
	if _, err := cli.ImageInspect(ctx, tag); err == nil {
		fmt.Fprintf(log, "image %s reused\n", tag)
		return tag, nil
	} else if !client.IsErrNotFound(err) {
		return "", fmt.Errorf("inspecting image %s: %w", tag, err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	files := []struct {
		name string
		mode int64
		data []byte
	}{{"Dockerfile", 0o644, []byte(dockerfile)}, {"skeptic", 0o755, bin}}
	for _, f := range files {
		hdr := &tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: time.Unix(0, 0)}
		if err := tw.WriteHeader(hdr); err != nil {
			return "", fmt.Errorf("build context: %w", err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return "", fmt.Errorf("build context: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return "", fmt.Errorf("build context: %w", err)
	}
	resp, err := cli.ImageBuild(ctx, &buf, build.ImageBuildOptions{
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
	fmt.Fprintf(log, "image %s built in %s\n", tag, time.Since(t0).Round(100*time.Millisecond))
	return tag, nil
}

// checkStatic returns an error unless path is an ELF executable without a program interpreter, that is one that
// runs in a FROM scratch image.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("node binary %s is not an ELF executable the docker runtime can pack: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("node binary %s is dynamically linked, so it cannot run in a FROM scratch image; build it with CGO_ENABLED=0 go build ./cmd/skeptic and pass --node-binary", path)
		}
	}
	return nil
}
