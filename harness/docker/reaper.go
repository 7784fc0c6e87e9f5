package docker

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// The reaper makes sure a run's containers do not outlive the process that started them, even when that process
// is SIGKILLed: StartCluster starts the running executable again, in its own session, as a reaper that holds
// the read end of a pipe. Teardown writes "done" into the pipe; if the harness dies first, the kernel closes the
// pipe, the reaper reads EOF without "done", and removes the run's containers, network and (unless KeepData)
// volumes, as Clean does. Its output goes to RunDir/docker-reaper.log.
//
// The reaper runs in package docker's init, before main, whenever SKEPTIC_DOCKER_REAPER names a run, so every
// program that can start a docker cluster can also reap it.

const (
	reaperEnv     = "SKEPTIC_DOCKER_REAPER"
	reaperKeepEnv = "SKEPTIC_DOCKER_REAPER_KEEP"
)

func init() {
	if run := os.Getenv(reaperEnv); run != "" {
		os.Exit(reap(run, os.Getenv(reaperKeepEnv) == "1"))
	}
}

// reap waits for EOF on stdin, and cleans run unless it read "done".
func reap(run string, keepVolumes bool) int {
	b, _ := io.ReadAll(os.Stdin)
	if strings.TrimSpace(string(b)) == "done" {
		return 0
	}
	fmt.Printf("%s: the harness of run %s ended without tearing it down; removing it\n", time.Now().Format(time.RFC3339), run)
	cli, err := newClient()
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	removed, err := clean(ctx, cli, run, keepVolumes)
	for _, r := range removed {
		fmt.Println("removed", r)
	}
	if err != nil {
		fmt.Println(err)
		return 1
	}
	return 0
}

// reaper is the harness's end of a started reaper.
type reaper struct {
	cmd *exec.Cmd
	w   *os.File
}

// startReaper starts the reaper of run, logging into runDir/docker-reaper.log.
func startReaper(run, runDir string, keepVolumes bool) (*reaper, error) {
	// /proc/self/exe is this very program even when its file was replaced or removed since it started.
	exe := "/proc/self/exe"
	if _, err := os.Stat(exe); err != nil {
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("starting the reaper: %w", err)
		}
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("starting the reaper: %w", err)
	}
	defer r.Close()
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		w.Close()
		return nil, fmt.Errorf("starting the reaper: %w", err)
	}
	log, err := os.OpenFile(filepath.Join(runDir, "docker-reaper.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("starting the reaper: %w", err)
	}
	defer log.Close()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), reaperEnv+"="+run)
	if keepVolumes {
		cmd.Env = append(cmd.Env, reaperKeepEnv+"=1")
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r, log, log
	// Its own session: a ^C to the harness's process group does not reach it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("starting the reaper %s: %w", exe, err)
	}
	return &reaper{cmd: cmd, w: w}, nil
}

// Detach gives up the cluster's automatic removal, for --leave-db-running: it dismisses the reaper, so the
// containers, network and volumes outlive this process until `skeptic clean --run <id>` removes them. It removes
// nothing. Node output is saved into the run folder only while this process lives; `docker logs` has the rest.
// After Detach, Teardown still removes everything.
func (c *Cluster) Detach() error {
	if err := c.reaper.dismiss(); err != nil {
		return fmt.Errorf("detaching run %s: %w", c.runID, err)
	}
	return nil
}

// dismiss tells the reaper the run was torn down, and waits for it to exit. It is idempotent.
func (r *reaper) dismiss() error {
	if r == nil || r.w == nil {
		return nil
	}
	_, werr := r.w.WriteString("done\n")
	cerr := r.w.Close()
	r.w = nil
	done := make(chan error, 1)
	go func() { done <- r.cmd.Wait() }()
	select {
	case err := <-done:
		if werr != nil || cerr != nil || err != nil {
			return fmt.Errorf("dismissing the reaper (pid %d): write %v, close %v, exit %v", r.cmd.Process.Pid, werr, cerr, err)
		}
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("the reaper (pid %d) did not exit", r.cmd.Process.Pid)
	}
}
