package harness

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/skeptic-dev/skeptic/harness/docker"
	"github.com/skeptic-dev/skeptic/internal/field"
)

// SkepticCmd is the import path of the skeptic command, the program every node of a Go target runs.
const SkepticCmd = "github.com/skeptic-dev/skeptic/cmd/skeptic"

// NodeBinaryEnv names the environment variable that overrides the node binary StaticBinary returns.
const NodeBinaryEnv = "SKEPTIC_NODE_BINARY"

const skepticModule = "github.com/skeptic-dev/skeptic"

// StaticBinary returns the path of a statically linked skeptic binary, which a FROM scratch container can run:
//
//   - the file $SKEPTIC_NODE_BINARY names, when it is set (and an error when that file is not static);
//   - else the running executable, when it is a static build of cmd/skeptic;
//   - else cacheDir/skeptic-static, built by CGO_ENABLED=0 go build -trimpath in the skeptic module that holds
//     the working directory (go build relinks only when the sources changed);
//   - else, outside the module, the running executable even when it is dynamically linked (as `go install`
//     builds it): the local runtime runs it as it is, and the docker runtime packs it with its libraries.
//
// Concurrent callers, in one process or several, serialize on a lock file in cacheDir.
func StaticBinary(ctx context.Context, cacheDir string) (string, error) {
	if p := os.Getenv(NodeBinaryEnv); p != "" {
		if err := docker.CheckStatic(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", NodeBinaryEnv, p, err)
		}
		return p, nil
	}
	var why []string
	dynamicSelf := ""
	if exe, err := os.Executable(); err != nil {
		why = append(why, fmt.Sprintf("os.Executable: %v", err))
	} else if bi, err := buildinfo.ReadFile(exe); err != nil || bi.Path != SkepticCmd {
		why = append(why, fmt.Sprintf("this program (%s) is not %s", exe, SkepticCmd))
	} else if err := docker.CheckStatic(exe); err != nil {
		why = append(why, fmt.Sprintf("this program: %v", err))
		dynamicSelf = exe
	} else {
		return exe, nil
	}
	root, err := moduleRoot()
	if err != nil {
		if dynamicSelf != "" {
			// Installed with go install (cgo on), run outside the module: this program itself, which the docker
			// runtime packs with its ELF interpreter and shared libraries.
			return dynamicSelf, nil
		}
		why = append(why, err.Error())
		return "", fmt.Errorf("cannot find a static skeptic binary: %s; build one with CGO_ENABLED=0 go build ./cmd/skeptic and pass --node-binary", strings.Join(why, "; "))
	}
	bin, err := buildStatic(ctx, root, cacheDir)
	if err != nil {
		why = append(why, err.Error())
		return "", fmt.Errorf("cannot find a static skeptic binary: %s; build one with CGO_ENABLED=0 go build ./cmd/skeptic and pass --node-binary", strings.Join(why, "; "))
	}
	return bin, nil
}

// buildStatic builds cmd/skeptic statically into cacheDir/skeptic-static, holding cacheDir/skeptic-static.lock.
func buildStatic(ctx context.Context, root, cacheDir string) (string, error) {
	if cacheDir == "" {
		return "", errors.New("no cache dir to build into")
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", err
	}
	cacheDir, err := filepath.Abs(cacheDir)
	if err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(cacheDir, "skeptic-static.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("locking %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	out := filepath.Join(cacheDir, "skeptic-static")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, SkepticCmd)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("CGO_ENABLED=0 go build %s in %s: %v: %s", SkepticCmd, root, err, strings.TrimSpace(stderr.String()))
	}
	if err := docker.CheckStatic(out); err != nil {
		return "", err
	}
	return out, nil
}

// moduleRoot returns the folder, the working directory or one above it, whose go.mod declares the skeptic
// module.
func moduleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if f := strings.Fields(line); len(f) == 2 && f[0] == "module" && f[1] == skepticModule {
					return dir, nil
				}
			}
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("no go.mod of module %s in %s or above it", skepticModule, wd)
		}
	}
}

// nodeBinary returns the program the nodes run: --node-binary, or a static build of skeptic itself
// (StaticBinary: $SKEPTIC_NODE_BINARY, this executable, or a build cached in the user's cache folder).
func nodeBinary(ctx context.Context, t Test, con *console) (string, error) {
	if t.NodeBinary != "" {
		return givenNodeBinary(t)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	t0 := time.Now()
	bin, err := StaticBinary(ctx, filepath.Join(cache, "skeptic"))
	if err != nil {
		return "", err
	}
	con.logf("node binary %s (found in %s)\n", bin, time.Since(t0).Round(time.Millisecond))
	return bin, nil
}

// givenNodeBinary returns the absolute path of --node-binary, or a *field.Error for "node_binary" when it is not an executable file.
func givenNodeBinary(t Test) (string, error) {
	p, err := filepath.Abs(t.NodeBinary)
	if err != nil {
		return "", field.Errorf("node_binary", "%v", err)
	}
	if st, err := os.Stat(p); err != nil {
		return "", field.Errorf("node_binary", "%v", err)
	} else if st.IsDir() || st.Mode()&0o111 == 0 {
		return "", field.Errorf("node_binary", "%s is not an executable file", p)
	}
	return p, nil
}
