package harness

// The runtime of a run: docker, local, none, or docker attaching existing containers.

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/skeptic-dev/skeptic/harness/cluster"
	"github.com/skeptic-dev/skeptic/harness/docker"
	"github.com/skeptic-dev/skeptic/harness/local"
)

// chooseRuntime resolves --runtime, and says why it chose what it did.
func chooseRuntime(ctx context.Context, t Test) (cluster.Runtime, string, error) {
	name := t.Runtime
	if len(t.Attach) > 0 {
		name = RuntimeDocker // containers are attached through Docker, whatever auto would find
	}
	switch name {
	case RuntimeDocker:
		if len(t.Attach) > 0 {
			rt, why, err := dockerRuntime(ctx)
			if err != nil {
				return nil, "", setupErr("runtime docker", err)
			}
			return attachRuntime{rt.(*docker.Runtime), t.Attach}, why + "; attaching " + sortedOptions(t.Attach), nil
		}
	}
	switch name {
	case RuntimeNone:
		return noneRuntime{endpoints: t.Endpoints}, fmt.Sprintf("a running cluster at %s; no faults, no lifecycle", sortedOptions(t.Endpoints)), nil
	case RuntimeDocker:
		rt, why, err := dockerRuntime(ctx)
		if err != nil {
			return nil, "", setupErr("runtime docker", err)
		}
		return rt, why, nil
	case RuntimeLocal:
		return local.New(), "asked for with --runtime local", nil
	default:
		rt, why, err := dockerRuntime(ctx)
		if err == nil {
			return rt, why, nil
		}
		reason := strings.TrimSuffix(err.Error(), "; start it, or use --runtime local")
		if !strings.HasPrefix(reason, "no Docker daemon") {
			reason = "no Docker daemon: " + reason
		}
		return local.New(), reason, nil
	}
}

// dockerRuntime returns the docker runtime when a daemon answers, with the daemon's address and API version.
func dockerRuntime(ctx context.Context) (cluster.Runtime, string, error) {
	if err := docker.Available(ctx); err != nil {
		return nil, "", err
	}
	rt, err := docker.New()
	if err != nil {
		return nil, "", err
	}
	cli := rt.Client()
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ping, err := cli.Ping(pctx)
	if err != nil {
		rt.Close()
		return nil, "", fmt.Errorf("no Docker daemon at %s: %v; start it, or use --runtime local", cli.DaemonHost(), err)
	}
	return rt, fmt.Sprintf("daemon at %s answered, API %s", cli.DaemonHost(), ping.APIVersion), nil
}
