package docker

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/skeptic-dev/skeptic/nemesis/nft"
)

// CleanOptions says what Clean removes.
type CleanOptions struct {
	// RunID, when set, limits Clean to that run's containers, network and volumes, whoever owns them.
	RunID string
	// All removes the objects of every run labelled skeptic, also of runs still going on. Without All (and
	// without RunID) Clean removes only the runs no live process owns: neither their harness nor their reaper
	// runs any more (see owner.go).
	All bool
	// Images also removes skeptic's node images, except those a container that stays still uses.
	Images bool
	// Plan, when set, is called once with what Clean is about to remove (and why it keeps the rest), before it
	// removes anything.
	Plan func(remove, keep []string)
}

// CleanResult says what Clean removed, and which runs it left alone and why.
type CleanResult struct {
	Removed []string
	Kept    []string
}

// Clean removes the containers, networks and volumes of run runID, as a crashed run leaves them, and returns
// what it removed ("container skeptic-r1-n1", "network skeptic-r1", ...). With runID "" it removes only the runs
// whose harness and reaper are both gone (CleanWith has the other modes). It goes on past failures and reports
// them all. It talks to the engine the environment names.
func Clean(ctx context.Context, runID string) ([]string, error) {
	res, err := CleanWith(ctx, CleanOptions{RunID: runID})
	return res.Removed, err
}

// CleanWith removes what opts says, and says what it removed and what it kept. Only objects labelled skeptic=1
// (and, when $SKEPTIC_DOCKER_SCOPE is set, with that label too) are ever touched.
func CleanWith(ctx context.Context, opts CleanOptions) (CleanResult, error) {
	cli, err := newClient()
	if err != nil {
		return CleanResult{}, err
	}
	defer cli.Close()
	return cleanWith(ctx, cli, opts)
}

// Clean is the package's Clean, through the runtime's client.
func (r *Runtime) Clean(ctx context.Context, runID string) ([]string, error) {
	res, err := cleanWith(ctx, r.cli, CleanOptions{RunID: runID})
	return res.Removed, err
}

// baseFilter selects skeptic's objects, within $SKEPTIC_DOCKER_SCOPE.
func baseFilter() (filters.Args, error) {
	f := filters.NewArgs(filters.Arg("label", LabelSkeptic+"=1"))
	k, v, err := scopeLabel()
	if err != nil {
		return f, err
	}
	if k != "" {
		f.Add("label", k+"="+v)
	}
	return f, nil
}

// runInfo is what the labels of a run's objects say.
type runInfo struct {
	owners  runOwners
	objects []string
	running int // containers running or paused
}

func cleanWith(ctx context.Context, cli *client.Client, opts CleanOptions) (CleanResult, error) {
	var res CleanResult
	f, err := baseFilter()
	if err != nil {
		return res, err
	}
	if opts.RunID != "" {
		f.Add("label", LabelRun+"="+opts.RunID)
	}
	runs := map[string]*runInfo{}
	note := func(labels map[string]string, obj string, running bool) {
		id := labels[LabelRun]
		ri := runs[id]
		if ri == nil {
			ri = &runInfo{}
			runs[id] = ri
		}
		if ri.owners.harness == "" {
			ri.owners.harness = labels[LabelHarness]
		}
		if ri.owners.reaper == "" {
			ri.owners.reaper = labels[LabelReaper]
		}
		ri.objects = append(ri.objects, obj)
		if running {
			ri.running++
		}
	}
	cs, err := listContainers(ctx, cli, f)
	if err != nil {
		return res, err
	}
	for _, c := range cs {
		note(c.Labels, "container "+containerName(c), c.State == container.StateRunning || c.State == container.StatePaused)
	}
	ns, err := cli.NetworkList(ctx, network.ListOptions{Filters: f})
	if err != nil {
		return res, fmt.Errorf("listing networks: %w", err)
	}
	for _, n := range ns {
		note(n.Labels, "network "+n.Name, false)
	}
	vs, err := cli.VolumeList(ctx, volume.ListOptions{Filters: f})
	if err != nil {
		return res, fmt.Errorf("listing volumes: %w", err)
	}
	for _, v := range vs.Volumes {
		note(v.Labels, "volume "+v.Name, false)
	}

	ids := make([]string, 0, len(runs))
	for id := range runs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var remove, plan []string
	for _, id := range ids {
		ri := runs[id]
		name := "run " + id
		if id == "" {
			name = "objects with no run label"
		}
		st, why := ri.owners.state()
		switch {
		case opts.RunID != "" || opts.All:
			what := fmt.Sprintf("%s (%s)", name, strings.Join(ri.objects, ", "))
			if st == ownerAlive {
				what += fmt.Sprintf(", STILL RUNNING: %s", why)
			} else if ri.running > 0 {
				what += fmt.Sprintf(", %d containers running", ri.running)
			}
			plan = append(plan, what)
			remove = append(remove, id)
		case st == ownerDead && id != "":
			plan = append(plan, fmt.Sprintf("%s (%s): its harness and reaper are gone", name, strings.Join(ri.objects, ", ")))
			remove = append(remove, id)
		default:
			if why == "" {
				why = "owner unknown"
			}
			res.Kept = append(res.Kept, fmt.Sprintf("%s: %s", name, why))
		}
	}
	if opts.Plan != nil {
		opts.Plan(plan, res.Kept)
	}
	var errs []error
	for _, id := range remove {
		rf := f.Clone()
		if id != "" && opts.RunID == "" {
			rf.Add("label", LabelRun+"="+id)
		}
		removed, err := removeObjects(ctx, cli, rf, false, id == "")
		res.Removed = append(res.Removed, removed...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if opts.Images {
		removed, err := removeImages(ctx, cli)
		res.Removed = append(res.Removed, removed...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return res, errors.Join(errs...)
}

// clean removes the containers, network and volumes of run, but keeps the volumes when keepVolumes is set (the
// reaper's clean).
func clean(ctx context.Context, cli *client.Client, runID string, keepVolumes bool) ([]string, error) {
	f, err := baseFilter()
	if err != nil {
		return nil, err
	}
	f.Add("label", LabelRun+"="+runID)
	return removeObjects(ctx, cli, f, keepVolumes, false)
}

// removeObjects removes the containers, networks and (unless keepVolumes) volumes f selects. With unlabelled
// set, f selects every run, and only objects with no run label are removed.
func removeObjects(ctx context.Context, cli *client.Client, f filters.Args, keepVolumes, unlabelled bool) ([]string, error) {
	var removed []string
	var errs []error
	cs, err := listContainers(ctx, cli, f)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		if unlabelled && c.Labels[LabelRun] != "" {
			continue
		}
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
		if unlabelled && n.Labels[LabelRun] != "" {
			continue
		}
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
		if unlabelled && v.Labels[LabelRun] != "" {
			continue
		}
		if err := cli.VolumeRemove(ctx, v.Name, true); err != nil && !client.IsErrNotFound(err) {
			errs = append(errs, fmt.Errorf("removing volume %s: %w", v.Name, err))
			continue
		}
		removed = append(removed, "volume "+v.Name)
	}
	return removed, errors.Join(errs...)
}

// removeImages removes skeptic's node images (within $SKEPTIC_DOCKER_SCOPE), except those a container still
// uses: a run going on keeps its image.
func removeImages(ctx context.Context, cli *client.Client) ([]string, error) {
	f, err := baseFilter()
	if err != nil {
		return nil, err
	}
	all, err := cli.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	used := map[string]bool{}
	for _, c := range all {
		used[c.ImageID] = true
	}
	is, err := cli.ImageList(ctx, image.ListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("listing images: %w", err)
	}
	var removed []string
	var errs []error
	for _, im := range is {
		name := im.ID
		if len(im.RepoTags) > 0 {
			name = im.RepoTags[0]
		}
		if used[im.ID] {
			continue
		}
		if _, err := cli.ImageRemove(ctx, im.ID, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil && !client.IsErrNotFound(err) {
			errs = append(errs, fmt.Errorf("removing image %s: %w", name, err))
			continue
		}
		removed = append(removed, "image "+name)
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
