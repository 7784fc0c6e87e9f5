package harness

// This file turns the Test's target fields into the system under test: a built-in target by name (--target) or a
// user's spec file (--target-spec), with its options (--flaw, --read, --etcd-read, --target-opt). The harness
// knows no particular target: every one is a spec.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/skeptic-dev/skeptic/internal/field"
	"github.com/skeptic-dev/skeptic/targets"
	"github.com/skeptic-dev/skeptic/targets/spec"
)

// targetOptions returns the options given for the target: --target-opt, then the options' own flags.
func (t Test) targetOptions() map[string]string {
	opts := map[string]string{}
	for k, v := range t.TargetOptions {
		opts[k] = v
	}
	if t.Flaw != "" {
		opts["flaw"] = t.Flaw
	}
	if t.Read != "" {
		opts["read"] = t.Read
	}
	return opts
}

// loadSpec returns the target's spec: the file of --target-spec, or the built-in target --target names.
func (t Test) loadSpec() (*spec.Spec, error) {
	if t.TargetSpec != "" {
		s, err := spec.ParseFile(t.TargetSpec)
		if err != nil {
			return nil, field.Errorf("target_spec", "%v", err)
		}
		if t.Target != "" && t.Target != s.Name && t.Target != Default().Target {
			return nil, field.Errorf("target", "%q and --target-spec (which describes %q) name different targets; give one", t.Target, s.Name)
		}
		return s, nil
	}
	s, err := spec.Builtin(t.Target)
	if err != nil {
		return nil, field.Errorf("target", "%v", err)
	}
	return s, nil
}

// newTarget builds the system under test from the config. A bad option is a *field.Error for
// "target_options.NAME" (the CLI shows --flaw, --read, --etcd-read or --target-opt for it).
func newTarget(t Test) (*spec.Target, error) {
	s, err := t.loadSpec()
	if err != nil {
		return nil, err
	}
	tg, err := spec.New(s, t.targetOptions(), t.OpTimeout.D())
	if err != nil {
		if _, ok := field.As(err); ok {
			return nil, field.In("target_options", err)
		}
		return nil, field.Errorf("target", "%v", err)
	}
	return tg, nil
}

// targetName is the target's name for the store path: the spec's when --target-spec is given.
func (t Test) targetName() string {
	if t.TargetSpec != "" {
		if s, err := spec.ParseFile(t.TargetSpec); err == nil {
			return s.Name
		}
	}
	return t.Target
}

// nodeProgram returns what the nodes run: a binary path, or an image already in the local Docker. The built-in
// Paxos target runs skeptic itself (--node-binary, or a static build of this program).
func nodeProgram(ctx context.Context, t Test, tg *spec.Target, con *console) (binary, image string, err error) {
	s := tg.Spec()
	if s.Image != "" {
		return "", s.Image, nil
	}
	if s.Binary == spec.SkepticBinary || t.NodeBinary != "" {
		bin, err := nodeBinary(ctx, t, con)
		return bin, "", err
	}
	p := s.BinaryPath()
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	st, err := os.Stat(p)
	if err != nil {
		hint := ""
		if tg.Name() == "etcd" {
			hint = " (Debian's etcd-server package installs it: apt-get install etcd-server)"
		}
		return "", "", field.Errorf(targetField(t), "target %s: its binary %s: %v%s", tg.Name(), p, errors.Unwrap(err), hint)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return "", "", field.Errorf(targetField(t), "target %s: its binary %s is not an executable file", tg.Name(), p)
	}
	return p, "", nil
}

// targetField is the field that chose the target.
func targetField(t Test) string {
	if t.TargetSpec != "" {
		return "target_spec"
	}
	return "target"
}

// awaitReadyHTTP waits, for a spec with a ready.http path, until every node answers it with a 2xx status.
func awaitReadyHTTP(ctx context.Context, s *spec.Spec, nodes []targets.Node) error {
	if s.Ready.HTTP == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.Ready.Timeout.D())
	defer cancel()
	c := &http.Client{Timeout: 2 * time.Second}
	for _, n := range nodes {
		var last string
		for {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(n.ClientURL, "/")+s.Ready.HTTP, nil)
			if err != nil {
				return err
			}
			resp, err := c.Do(req)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode/100 == 2 {
					break
				}
				last = resp.Status
			} else {
				last = err.Error()
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("node %s did not answer GET %s with 2xx within %s (last: %s)", n.ID, s.Ready.HTTP, s.Ready.Timeout.D(), last)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

// leaderOf is what a target with the status capability offers: the leader a node names.
type leaderOf interface {
	Leader(ctx context.Context, n targets.Node) (string, error)
}

// sortedOptions renders opts as k=v,... for messages.
func sortedOptions(opts map[string]string) string {
	ks := make([]string, 0, len(opts))
	for k := range opts {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	parts := make([]string, len(ks))
	for i, k := range ks {
		parts[i] = k + "=" + opts[k]
	}
	return strings.Join(parts, ",")
}
