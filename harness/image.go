package harness

import (
	"context"
	"fmt"
	"io"

	"github.com/skeptic-dev/skeptic/harness/docker"
)

// LatestImage is the tag BuildImage also gives the node image, for docker-compose files that name it.
const LatestImage = docker.ImageRepo + ":latest"

// BuildImage builds (or reuses) the node image from binary (or, when binary is "", from this skeptic rebuilt
// statically), tags it LatestImage too, and returns its content-hash tag. Progress goes to log.
func BuildImage(ctx context.Context, binary string, log io.Writer) (string, error) {
	if err := docker.Available(ctx); err != nil {
		return "", setupErr("image", err)
	}
	rt, err := docker.New()
	if err != nil {
		return "", setupErr("image", err)
	}
	defer rt.Close()
	con := newConsole(log)
	bin, err := nodeBinary(ctx, Test{NodeBinary: binary}, con)
	if err != nil {
		return "", setupErr("node binary", err)
	}
	tag, err := docker.EnsureImage(ctx, rt.Client(), bin, log)
	if err != nil {
		return "", setupErr("build image", err)
	}
	if err := rt.Client().ImageTag(ctx, tag, LatestImage); err != nil {
		return "", setupErr("tag image", fmt.Errorf("tag %s as %s: %w", tag, LatestImage, err))
	}
	fmt.Fprintf(log, "tagged %s as %s\n", tag, LatestImage)
	return tag, nil
}
