package spec

import (
	"embed"
	"fmt"
	"sort"
	"strings"
)

// The built-in targets are specs like a user's, embedded in the binary: one path from spec to running nodes.
//
//go:embed builtin/*.yaml
var builtinFS embed.FS

// Builtin returns the built-in target named name (paxos, etcd).
func Builtin(name string) (*Spec, error) {
	b, err := builtinFS.ReadFile("builtin/" + name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("unknown target %q (the built-in targets are %s; or describe yours in a file and pass --target-spec)", name, strings.Join(Builtins(), ", "))
	}
	return Parse(b, "built-in target "+name)
}

// Builtins lists the built-in targets' names.
func Builtins() []string {
	ents, _ := builtinFS.ReadDir("builtin")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(out)
	return out
}
