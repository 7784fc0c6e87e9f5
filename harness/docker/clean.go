package docker

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/skeptic-dev/skeptic/nemesis/nft"
)

// Clean removes the containers, networks and volumes of run runID, as a crashed run leaves them, and returns
// what it removed ("container skeptic-r1-n1", "network skeptic-r1", ...). With runID "" it removes everything
// labelled skeptic=1, the node images included, and so also the clusters of runs still going on. It goes on
// past failures and reports them all. It talks to the engine the environment names.
func Clean(ctx context.Context, runID string) ([]string, error) {
	cli, err := newClient()
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	return clean(ctx, cli, runID, false)
}

// Clean is the package's Clean, through the runtime's client.
func (r *Runtime) Clean(ctx context.Context, runID string) ([]string, error) {
	return clean(ctx, r.cli, runID, false)
}

// clean removes what Clean says, but keeps the volumes when keepVolumes is set.
func clean(ctx context.Context, cli *client.Client, runID string, keepVolumes bool) ([]string, error) {
	f := filters.NewArgs(filters.Arg("label", LabelSkeptic+"=1"))
	if runID != "" {
		f.Add("label", LabelRun+"="+runID)
	}
	var removed []string
	var errs []error
	cs, err := listContainers(ctx, cli, f)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		name := containerName(c)
		// Heal first: should the removal fail, the container at least no longer drops its peers' packets.
		if msg, err := cleanRules(ctx, cli, c.ID, name); err != nil {
			errs = append(errs, err)
		} else if msg != "" {
			removed = append(removed, msg)
		}
		if c.State == container.StatePaused {
			if err := cli.ContainerUnpause(ctx, c.ID); err != nil && !client.IsErrNotFound(err) {
				errs = append(errs, fmt.Errorf("resuming container %s to remove it: %w", name, err))
			}
		}
		if err := cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil && !client.IsErrNotFound(err) {
			errs = append(errs, fmt.Errorf("removing container %s: %w", name, err))
			continue
		}
		removed = append(removed, "container "+name)
	}
	ns, err := cli.NetworkList(ctx, network.ListOptions{Filters: f})
	if err != nil {
		errs = append(errs, fmt.Errorf("listing networks: %w", err))
	}
	for _, n := range ns {
		if err := cli.NetworkRemove(ctx, n.ID); err != nil && !client.IsErrNotFound(err) {
			errs = append(errs, fmt.Errorf("removing network %s: %w", n.Name, err))
			continue
		}
		removed = append(removed, "network "+n.Name)
	}
	var vs volume.ListResponse
	if !keepVolumes {
		vs, err = cli.VolumeList(ctx, volume.ListOptions{Filters: f})
		if err != nil {
			errs = append(errs, fmt.Errorf("listing volumes: %w", err))
		}
	}
	for _, v := range vs.Volumes {
		if err := cli.VolumeRemove(ctx, v.Name, true); err != nil && !client.IsErrNotFound(err) {
			errs = append(errs, fmt.Errorf("removing volume %s: %w", v.Name, err))
			continue
		}
		removed = append(removed, "volume "+v.Name)
	}
	if runID == "" {
		is, err := cli.ImageList(ctx, image.ListOptions{Filters: f})
		if err != nil {
			errs = append(errs, fmt.Errorf("listing images: %w", err))
		}
		for _, im := range is {
			name := im.ID
			if len(im.RepoTags) > 0 {
				name = im.RepoTags[0]
			}
			if _, err := cli.ImageRemove(ctx, im.ID, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil && !client.IsErrNotFound(err) {
				errs = append(errs, fmt.Errorf("removing image %s: %w", name, err))
				continue
			}
			removed = append(removed, "image "+name)
		}
	}
	return removed, errors.Join(errs...)
}

// RunObjects lists the containers, networks and volumes labelled with run runID, as Clean names them.
func (r *Runtime) RunObjects(ctx context.Context, runID string) ([]string, error) {
	return runObjects(ctx, r.cli, runID)
}

func runObjects(ctx context.Context, cli *client.Client, runID string) ([]string, error) {
	f := filters.NewArgs(filters.Arg("label", LabelRun+"="+runID))
	var out []string
	cs, err := listContainers(ctx, cli, f)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		name := containerName(c)
		out = append(out, "container "+name)
	}
	ns, err := cli.NetworkList(ctx, network.ListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("listing networks: %w", err)
	}
	for _, n := range ns {
		out = append(out, "network "+n.Name)
	}
	vs, err := cli.VolumeList(ctx, volume.ListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("listing volumes: %w", err)
	}
	for _, v := range vs.Volumes {
		out = append(out, "volume "+v.Name)
	}
	return out, nil
}

// listContainers lists the containers, running or not, that f selects.
func listContainers(ctx context.Context, cli *client.Client, f filters.Args) ([]container.Summary, error) {
	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	return cs, nil
}

// containerName is the container's name without its leading slash, or its short id when it has none.
func containerName(c container.Summary) string {
	if len(c.Names) > 0 {
		return strings.TrimPrefix(c.Names[0], "/")
	}
	return c.ID[:12]
}

// cleanRules removes skeptic's nftables table from the network namespace of a running or paused container, and
// says so when there was one.
func cleanRules(ctx context.Context, cli *client.Client, id, name string) (string, error) {
	info, err := cli.ContainerInspect(ctx, id)
	if err != nil {
		if client.IsErrNotFound(err) {
			return "", nil
		}
		return "", fmt.Errorf("inspecting container %s: %w", name, err)
	}
	if info.State == nil || info.State.Pid <= 0 {
		return "", nil
	}
	had, err := nft.HasTable(info.State.Pid)
	if err != nil || !had {
		return "", err
	}
	if err := nft.CleanPID(info.State.Pid); err != nil {
		return "", fmt.Errorf("removing the fault rules of container %s: %w", name, err)
	}
	return "fault rules of container " + name, nil
}
