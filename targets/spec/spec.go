package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/skeptic-dev/skeptic/internal/field"
	"github.com/skeptic-dev/skeptic/targets"
)

// SkepticBinary, as a spec's binary, means skeptic's own program built statically: the built-in Paxos target runs
// `skeptic node ...`.
const SkepticBinary = "$SKEPTIC"

// The client kinds a spec may name.
const (
	// ClientHTTPKV speaks shared/PROTOCOL.md (targets/httpkv).
	ClientHTTPKV = "http-kv"
	// ClientEtcd speaks etcd's v3 API (targets/etcd).
	ClientEtcd = "etcd"
)

// Spec describes a system skeptic can start and test: where its program comes from, how one node is started,
// how clients reach it and which admin endpoints it has. The built-in targets are specs too (builtin/*.yaml).
type Spec struct {
	// Name names the target, in store paths and messages.
	Name string `yaml:"name" json:"name"`
	// Binary is the program every node runs: a path (relative to the spec file), or SkepticBinary. The docker
	// runtime packs it into a FROM scratch image, with its ELF interpreter and shared libraries when it is
	// dynamically linked.
	Binary string `yaml:"binary,omitempty" json:"binary,omitempty"`
	// Image is an image already in the local Docker, used instead of Binary (docker runtime only).
	Image string `yaml:"image,omitempty" json:"image,omitempty"`
	// Args are the node's arguments after the program, each a Go text/template over Node.
	Args []string `yaml:"args,omitempty" json:"args,omitempty"`
	// Env are extra environment variables, each value a template over Node.
	Env map[string]string `yaml:"env,omitempty" json:"env,omitempty"`
	// Client is the client kind: http-kv or etcd.
	Client string `yaml:"client" json:"client"`
	// ClientPort and PeerPort are the ports a node serves clients and peers on (inside its container; the local
	// runtime picks free ports instead).
	ClientPort int `yaml:"client_port" json:"client_port"`
	PeerPort   int `yaml:"peer_port,omitempty" json:"peer_port,omitempty"`
	// DataDir is where a node keeps its data in its container (default /data); a volume is mounted there.
	DataDir string `yaml:"data_dir,omitempty" json:"data_dir,omitempty"`
	// Capabilities lists the optional admin endpoints of shared/PROTOCOL.md the target serves: status, clock.
	Capabilities []targets.Capability `yaml:"capabilities,omitempty" json:"capabilities,omitempty"`
	// Ready says when a started node is ready.
	Ready Ready `yaml:"ready,omitempty" json:"ready,omitempty"`
	// Options are the target's own settings (the Paxos target's flaw and read mode), given with --target-opt or
	// the target's own flags, and read by the templates as {{.Opt.name}}.
	Options map[string]Option `yaml:"options,omitempty" json:"options,omitempty"`
	// Runtimes lists the runtimes the target can run on (docker, local); empty means every runtime that can
	// start it (local needs a binary).
	Runtimes []string `yaml:"runtimes,omitempty" json:"runtimes,omitempty"`

	// dir is the folder of the spec file, against which a relative Binary is resolved.
	dir string
}

// Ready is a node's readiness check: it accepts TCP connections on its client port and, when HTTP is set, answers
// GET HTTP with a 2xx status, both within Timeout.
type Ready struct {
	HTTP    string   `yaml:"http,omitempty" json:"http,omitempty"`
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
}

// Option is one setting of a target.
type Option struct {
	// Default is the value when none is given.
	Default string `yaml:"default" json:"default"`
	// Values, when not empty, are the only values allowed.
	Values []string `yaml:"values,omitempty" json:"values,omitempty"`
	// Help says what the option does.
	Help string `yaml:"help,omitempty" json:"help,omitempty"`
}

// Duration is a time.Duration written as Go duration text ("30s").
type Duration time.Duration

// UnmarshalYAML reads "30s".
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return fmt.Errorf("line %d: want a duration such as 30s", n.Line)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration such as 30s", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// DefaultReadyTimeout is the readiness timeout of a spec that gives none.
const DefaultReadyTimeout = 60 * time.Second

// Error is a bad spec: File and Line say where (Line 0 when unknown), Field names the field.
type Error struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ": %s", e.Field)
	}
	fmt.Fprintf(&b, ": %s", e.Msg)
	return b.String()
}

// ParseFile reads and validates the spec at path (YAML or JSON).
func ParseFile(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Msg: err.Error()}
	}
	s, err := Parse(b, path)
	if err != nil {
		return nil, err
	}
	s.dir = filepath.Dir(path)
	return s, nil
}

var lineRE = regexp.MustCompile(`line (\d+)`)

// Parse reads and validates a spec from b (YAML, or JSON, which is YAML too); name is used in errors. Unknown
// fields are errors, with their line.
func Parse(b []byte, name string) (*Spec, error) {
	var s Spec
	d := yaml.NewDecoder(bytes.NewReader(b))
	d.KnownFields(true)
	if err := d.Decode(&s); err != nil {
		line := 0
		if m := lineRE.FindStringSubmatch(err.Error()); m != nil {
			fmt.Sscan(m[1], &line)
		}
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		msg = strings.TrimPrefix(msg, "unmarshal errors:\n  ")
		msg = lineRE.ReplaceAllString(msg, "")
		msg = strings.TrimLeft(msg, ": ")
		if errors.Is(err, io.EOF) {
			msg = "the file is empty"
		}
		return nil, &Error{File: name, Line: line, Msg: strings.ReplaceAll(msg, "in type spec.", "in a target spec: ")}
	}
	var root yaml.Node
	_ = yaml.Unmarshal(b, &root)
	if err := s.validate(); err != nil {
		var se *Error
		if errors.As(err, &se) {
			se.File = name
			se.Line = fieldLine(&root, se.Field)
		}
		return nil, err
	}
	return &s, nil
}

// fieldLine finds the line of a top-level (or dotted: options.flaw) field in the YAML tree; 0 when not found.
func fieldLine(root *yaml.Node, field string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := 0
	for _, part := range strings.Split(field, ".") {
		part, index, indexed := strings.Cut(part, "[")
		if n == nil || n.Kind != yaml.MappingNode {
			return line
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == part {
				line = n.Content[i].Line
				next = n.Content[i+1]
				break
			}
		}
		n = next
		if indexed && n != nil && n.Kind == yaml.SequenceNode {
			var k int
			if _, err := fmt.Sscanf(index, "%d]", &k); err == nil && k >= 0 && k < len(n.Content) {
				line = n.Content[k].Line
				n = n.Content[k]
			}
		}
	}
	return line
}

var (
	nameRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
	optionRE = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	envRE    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

func fieldErr(field, format string, args ...any) error {
	return &Error{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// validate checks every field, and that every template parses and renders on a sample node.
func (s *Spec) validate() error {
	if s.Name == "" {
		return fieldErr("name", "is missing")
	}
	if !nameRE.MatchString(s.Name) {
		return fieldErr("name", "%q must be lower-case letters, digits, '.', '_' and '-', starting with a letter or digit", s.Name)
	}
	switch {
	case s.Binary == "" && s.Image == "":
		return fieldErr("binary", "give either binary (a program to pack into an image) or image (one already in the local Docker)")
	case s.Binary != "" && s.Image != "":
		return fieldErr("image", "give binary or image, not both")
	}
	switch s.Client {
	case ClientHTTPKV, ClientEtcd:
	case "":
		return fieldErr("client", "is missing (want %s or %s)", ClientHTTPKV, ClientEtcd)
	default:
		return fieldErr("client", "unknown client kind %q (want %s or %s)", s.Client, ClientHTTPKV, ClientEtcd)
	}
	if s.ClientPort < 1 || s.ClientPort > 65535 {
		return fieldErr("client_port", "must be a port in 1..65535, got %d", s.ClientPort)
	}
	if s.PeerPort < 0 || s.PeerPort > 65535 || s.PeerPort == s.ClientPort {
		return fieldErr("peer_port", "must be a port in 1..65535 other than client_port, or absent, got %d", s.PeerPort)
	}
	if s.DataDir == "" {
		s.DataDir = "/data"
	}
	if !strings.HasPrefix(s.DataDir, "/") {
		return fieldErr("data_dir", "must be an absolute path in the container, got %q", s.DataDir)
	}
	for i, c := range s.Capabilities {
		switch c {
		case targets.CapStatus, targets.CapClock:
		default:
			return fieldErr(fmt.Sprintf("capabilities[%d]", i), "unknown capability %q (want %s or %s)", c, targets.CapStatus, targets.CapClock)
		}
	}
	if s.Client == ClientEtcd && hasCap(s.Capabilities, targets.CapClock) {
		return fieldErr("capabilities", "an etcd client has no /admin/clock; clock needs client %s", ClientHTTPKV)
	}
	if s.Ready.Timeout < 0 {
		return fieldErr("ready.timeout", "must be > 0")
	}
	if s.Ready.Timeout == 0 {
		s.Ready.Timeout = Duration(DefaultReadyTimeout)
	}
	if s.Ready.HTTP != "" && !strings.HasPrefix(s.Ready.HTTP, "/") {
		return fieldErr("ready.http", "must be a path starting with /, got %q", s.Ready.HTTP)
	}
	for _, name := range sortedKeys(s.Options) {
		o := s.Options[name]
		if !optionRE.MatchString(name) {
			return fieldErr("options."+name, "an option's name must be lower-case letters, digits and '-'")
		}
		// An empty default means "the target decides", and need not be one of the values.
		if len(o.Values) > 0 && o.Default != "" && !contains(o.Values, o.Default) {
			return fieldErr("options."+name, "default %q is not one of its values %s", o.Default, strings.Join(o.Values, ", "))
		}
	}
	for i, r := range s.Runtimes {
		if r != "docker" && r != "local" {
			return fieldErr(fmt.Sprintf("runtimes[%d]", i), "unknown runtime %q (want docker or local)", r)
		}
	}
	if s.Image != "" && contains(s.Runtimes, "local") {
		return fieldErr("runtimes", "an image target runs on docker only")
	}
	for i, a := range s.Args {
		if _, err := parseTemplate(a); err != nil {
			return fieldErr(fmt.Sprintf("args[%d]", i), "%v", err)
		}
	}
	for _, k := range sortedKeys(s.Env) {
		if !envRE.MatchString(k) {
			return fieldErr("env."+k, "is not a variable name")
		}
		if _, err := parseTemplate(s.Env[k]); err != nil {
			return fieldErr("env."+k, "%v", err)
		}
	}
	// Render once on a sample cluster, so that a template naming a field that does not exist ({{.Ip}}) fails
	// here, with its field, rather than when the nodes start.
	opts, _ := s.Resolve(nil)
	sample := SampleNode(s, opts)
	if _, err := s.RenderArgs(sample); err != nil {
		return err
	}
	if _, err := s.RenderEnv(sample); err != nil {
		return err
	}
	return nil
}

// Resolve returns the target's options: each declared option's default, overridden by given. A given option the
// spec does not declare, or a value outside its values, is a *field.Error named by the option ("flaw"); the
// harness puts it under "target_options".
func (s *Spec) Resolve(given map[string]string) (map[string]string, error) {
	out := map[string]string{}
	for name, o := range s.Options {
		out[name] = o.Default
	}
	for _, name := range sortedKeys(given) {
		v := given[name]
		o, ok := s.Options[name]
		if !ok {
			have := sortedKeys(s.Options)
			msg := fmt.Sprintf("target %s has no option %q", s.Name, name)
			if len(have) > 0 {
				msg += fmt.Sprintf(" (its options: %s)", strings.Join(have, ", "))
			} else {
				msg += " (it has no options)"
			}
			return nil, &field.Error{Field: name, Msg: msg}
		}
		if len(o.Values) > 0 && !contains(o.Values, v) {
			return nil, &field.Error{Field: name, Msg: fmt.Sprintf("unknown %s %q for target %s (want %s)", name, v, s.Name, strings.Join(o.Values, ", "))}
		}
		out[name] = v
	}
	return out, nil
}

// BinaryPath returns the spec's binary, resolved against the spec file's folder; "" for an image target, and
// SkepticBinary unchanged.
func (s *Spec) BinaryPath() string {
	if s.Binary == "" || s.Binary == SkepticBinary || filepath.IsAbs(s.Binary) {
		return s.Binary
	}
	return filepath.Join(s.dir, s.Binary)
}

// RunsOn reports whether the target can run on the named runtime.
func (s *Spec) RunsOn(runtime string) bool {
	if len(s.Runtimes) > 0 {
		return contains(s.Runtimes, runtime)
	}
	return runtime != "local" || s.Image == ""
}

// RenderArgs renders the node's arguments.
func (s *Spec) RenderArgs(n Node) ([]string, error) {
	out := make([]string, 0, len(s.Args))
	for i, a := range s.Args {
		v, err := render(a, n)
		if err != nil {
			return nil, fieldErr(fmt.Sprintf("args[%d]", i), "%v", err)
		}
		out = append(out, v)
	}
	return out, nil
}

// RenderEnv renders the node's environment, as KEY=VALUE in key order.
func (s *Spec) RenderEnv(n Node) ([]string, error) {
	out := make([]string, 0, len(s.Env))
	for _, k := range sortedKeys(s.Env) {
		v, err := render(s.Env[k], n)
		if err != nil {
			return nil, fieldErr("env."+k, "%v", err)
		}
		out = append(out, k+"="+v)
	}
	return out, nil
}

func parseTemplate(text string) (*template.Template, error) {
	return template.New("").Option("missingkey=error").Parse(text)
}

func render(text string, n Node) (string, error) {
	t, err := parseTemplate(text)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := t.Execute(&b, n); err != nil {
		// text/template's message starts with the template's empty name and position; keep what it says.
		msg := err.Error()
		if i := strings.Index(msg, "executing \"\" at "); i >= 0 {
			msg = msg[i+len("executing \"\" at "):]
		}
		return "", errors.New(msg)
	}
	return b.String(), nil
}

func hasCap(cs []targets.Capability, c targets.Capability) bool {
	for _, x := range cs {
		if x == c {
			return true
		}
	}
	return false
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
