package cluster

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skeptic-dev/skeptic/targets"
)

type nopTarget struct{}

func (nopTarget) Name() string                                   { return "nop" }
func (nopTarget) Capabilities() []targets.Capability             { return nil }
func (nopTarget) Args(targets.NodeArgs) ([]string, error)        { return nil, nil }
func (nopTarget) Env(targets.NodeArgs) ([]string, error)         { return nil, nil }
func (nopTarget) NewClient(targets.Node) (targets.Client, error) { return nil, nil }

func TestNodeIDs(t *testing.T) {
	if got := strings.Join(NodeIDs(12), ","); got != "n1,n2,n3,n4,n5,n6,n7,n8,n9,n10,n11,n12" {
		t.Fatalf("NodeIDs(12) = %s", got)
	}
}

func TestValidateNamesTheField(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ok := Spec{RunID: "r1", Target: nopTarget{}, Nodes: 3, Binary: exe, RunDir: t.TempDir()}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid spec: %v", err)
	}
	notExec := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(notExec, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		edit func(*Spec)
		want string
	}{
		{func(s *Spec) { s.RunID = "" }, "RunID is empty"},
		{func(s *Spec) { s.RunID = "-x" }, "RunID"},
		{func(s *Spec) { s.RunID = "a b" }, "RunID"},
		{func(s *Spec) { s.Target = nil }, "Target is nil"},
		{func(s *Spec) { s.Nodes = 0 }, "Nodes is 0"},
		{func(s *Spec) { s.Nodes = MaxNodes + 1 }, "Nodes is"},
		{func(s *Spec) { s.Binary = "" }, "Binary and Image are both empty"},
		{func(s *Spec) { s.Binary = "/no/such/file" }, "Binary"},
		{func(s *Spec) { s.Binary = notExec }, "not an executable"},
		{func(s *Spec) { s.RunDir = "" }, "RunDir is empty"},
	}
	for _, tc := range cases {
		s := ok
		tc.edit(&s)
		if err := s.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate() = %v, want an error containing %q", err, tc.want)
		}
	}
}

func TestGateLetsOneInAtATime(t *testing.T) {
	g := NewGate()
	leave, err := g.Enter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := g.Enter(ctx); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "teardown in progress") {
		t.Fatalf("second Enter while the first is inside: %v", err)
	}
	entered := make(chan func())
	go func() {
		l, err := g.Enter(context.Background())
		if err != nil {
			t.Error(err)
		}
		entered <- l
	}()
	select {
	case <-entered:
		t.Fatal("entered while the first was inside")
	case <-time.After(20 * time.Millisecond):
	}
	leave()
	(<-entered)()
}
