package docker

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Who owns a run's objects: every container, network and volume of a run carries the identity of the harness
// process that created it (LabelHarness) and of its reaper (LabelReaper), so that a bare `skeptic clean` can tell
// the leftovers of a dead harness from the cluster of a run still going on, and leave the latter alone.
//
// A process is named by its pid, its start time (field 22 of /proc/<pid>/stat, in clock ticks since boot) and the
// machine's boot id: a pid reused by another process has another start time, and a pid of an earlier boot is not
// the same process.

const (
	// LabelHarness holds the identity of the process that created a run's objects: "<pid>/<start>/<boot id>".
	LabelHarness = "skeptic.harness"
	// LabelReaper holds the identity of the run's reaper, in the same form ("" when none could be started).
	LabelReaper = "skeptic.reaper"
	// ScopeEnv, when set to key=value, adds that label to every Docker object skeptic creates and limits clean
	// (every mode) to objects that carry it: two CI jobs sharing one daemon each clean only their own.
	ScopeEnv = "SKEPTIC_DOCKER_SCOPE"
)

// procIdentity returns "<pid>/<start>/<boot id>" for the live process pid, or an error when it cannot be read.
func procIdentity(pid int) (string, error) {
	start, err := procStart(pid)
	if err != nil {
		return "", err
	}
	boot, err := bootID()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d/%d/%s", pid, start, boot), nil
}

// procStart returns the start time of process pid in clock ticks since boot.
func procStart(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces or parentheses: count from the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name in %q", pid, s)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); the start time is field 22.
	if len(f) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields after the command name, want at least 20", pid, len(f))
	}
	v, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: start time %q: %w", pid, f[19], err)
	}
	return v, nil
}

func bootID() (string, error) {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// liveness is what this machine can tell of an owner identity.
type liveness int

const (
	ownerDead    liveness = iota // the process is gone (or its pid now names another process)
	ownerAlive                   // the very process still runs
	ownerUnknown                 // no identity, a malformed one, or one of another machine (or boot)
)

// ownerState says whether the process an identity label names still runs, and why not when it cannot tell.
func ownerState(id string) (liveness, string) {
	if id == "" {
		return ownerUnknown, "no owner recorded (made by an older skeptic?)"
	}
	parts := strings.SplitN(id, "/", 3)
	if len(parts) != 3 {
		return ownerUnknown, fmt.Sprintf("malformed owner %q", id)
	}
	pid, err1 := strconv.Atoi(parts[0])
	start, err2 := strconv.ParseUint(parts[1], 10, 64)
	if err1 != nil || err2 != nil || pid <= 0 {
		return ownerUnknown, fmt.Sprintf("malformed owner %q", id)
	}
	boot, err := bootID()
	if err != nil {
		return ownerUnknown, fmt.Sprintf("cannot read this machine's boot id: %v", err)
	}
	if parts[2] != boot {
		return ownerUnknown, fmt.Sprintf("owned by process %d of another machine (or of an earlier boot)", pid)
	}
	got, err := procStart(pid)
	if err != nil || got != start {
		return ownerDead, ""
	}
	return ownerAlive, ""
}

// runOwners is what the labels of a run's objects say about its owners.
type runOwners struct {
	harness, reaper string
}

// state says whether anyone still owns the run: alive (with who), dead (nobody), or unknown (with why).
func (o runOwners) state() (liveness, string) {
	h, hwhy := ownerState(o.harness)
	if h == ownerAlive {
		return ownerAlive, "its harness (pid " + pidOf(o.harness) + ") is running"
	}
	if o.reaper != "" {
		if r, _ := ownerState(o.reaper); r == ownerAlive {
			return ownerAlive, "its reaper (pid " + pidOf(o.reaper) + ") is running"
		}
	}
	if h == ownerUnknown {
		return ownerUnknown, hwhy
	}
	return ownerDead, ""
}

func pidOf(id string) string {
	p, _, _ := strings.Cut(id, "/")
	return p
}

// ownerLabels are the labels that name this process as the owner of a run's objects, and r's process as their
// reaper.
func ownerLabels(r *reaper) map[string]string {
	m := map[string]string{}
	if id, err := procIdentity(os.Getpid()); err == nil {
		m[LabelHarness] = id
	}
	if r != nil && r.cmd != nil && r.cmd.Process != nil {
		if id, err := procIdentity(r.cmd.Process.Pid); err == nil {
			m[LabelReaper] = id
		}
	}
	return m
}

// scopeLabel returns the key and value of $SKEPTIC_DOCKER_SCOPE ("" when unset), or an error when it is not
// key=value.
func scopeLabel() (string, string, error) {
	s := os.Getenv(ScopeEnv)
	if s == "" {
		return "", "", nil
	}
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return "", "", fmt.Errorf("$%s=%q: want key=value, a label to add to (and to clean only) skeptic's Docker objects", ScopeEnv, s)
	}
	return k, v, nil
}

// runLabels are the labels of every object of run: skeptic=1, the run id, the owners, and $SKEPTIC_DOCKER_SCOPE.
func runLabels(run string, r *reaper) (map[string]string, error) {
	labels := ownerLabels(r)
	labels[LabelSkeptic], labels[LabelRun] = "1", run
	k, v, err := scopeLabel()
	if err != nil {
		return nil, err
	}
	if k != "" {
		labels[k] = v
	}
	return labels, nil
}
