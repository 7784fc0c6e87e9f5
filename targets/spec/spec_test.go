package spec

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/internal/field"
	"github.com/skeptic-dev/skeptic/targets"
	"github.com/skeptic-dev/skeptic/targets/paxos/core"
)

const goodSpec = `# a user's key-value store
name: mykv
binary: ./mykv
args:
  - --id={{.ID}}
  - --listen={{.ClientListen}}
  - --peers={{.PeerAddrs}}
  - --data={{.DataDir}}
  - --mode={{.Opt.mode}}
env:
  MYKV_CLUSTER: "{{.InitialCluster}}"
client: http-kv
client_port: 9000
peer_port: 9001
capabilities: [status]
ready:
  http: /health
  timeout: 20s
options:
  mode:
    default: fast
    values: [fast, safe]
`

func TestParseGoodSpec(t *testing.T) {
	s, err := Parse([]byte(goodSpec), "mykv.yaml")
	require.NoError(t, err)
	assert.Equal(t, "mykv", s.Name)
	assert.Equal(t, 9000, s.ClientPort)
	assert.Equal(t, 20*time.Second, s.Ready.Timeout.D())
	assert.Equal(t, "/data", s.DataDir, "the default data dir")
	assert.Equal(t, []targets.Capability{targets.CapStatus}, s.Capabilities)
	assert.True(t, s.RunsOn("docker"))
	assert.True(t, s.RunsOn("local"))

	// The same spec as JSON.
	js := `{"name": "mykv", "binary": "/opt/mykv", "client": "http-kv", "client_port": 9000, "args": ["--id={{.ID}}"]}`
	s2, err := Parse([]byte(js), "mykv.json")
	require.NoError(t, err)
	assert.Equal(t, "/opt/mykv", s2.BinaryPath())
	assert.Equal(t, DefaultReadyTimeout, s2.Ready.Timeout.D())
}

func TestParseFileResolvesBinaryAgainstItsFolder(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "mykv.yaml")
	require.NoError(t, os.WriteFile(p, []byte(goodSpec), 0o644))
	s, err := ParseFile(p)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "mykv"), s.BinaryPath())
}

// TestBadSpecsNameTheField: every bad spec is refused with the field, and the line where it stands.
func TestBadSpecsNameTheField(t *testing.T) {
	cases := []struct {
		name, spec, want string
	}{
		{"empty", "", "f.yaml: the file is empty"},
		{"no name", "binary: /x\nclient: http-kv\nclient_port: 80\n", "f.yaml: name: is missing"},
		{"bad name", "name: My KV\nbinary: /x\nclient: http-kv\nclient_port: 80\n", `f.yaml:1: name: "My KV" must be`},
		{"neither binary nor image", "name: a\nclient: http-kv\nclient_port: 80\n", "f.yaml: binary: give either binary"},
		{"both", "name: a\nbinary: /x\nimage: a:1\nclient: http-kv\nclient_port: 80\n", "f.yaml:3: image: give binary or image, not both"},
		{"unknown client", "name: a\nbinary: /x\nclient: grpc\nclient_port: 80\n", `f.yaml:3: client: unknown client kind "grpc"`},
		{"no port", "name: a\nbinary: /x\nclient: http-kv\n", "f.yaml: client_port: must be a port in 1..65535, got 0"},
		{"same ports", "name: a\nbinary: /x\nclient: http-kv\nclient_port: 80\npeer_port: 80\n", "f.yaml:5: peer_port:"},
		{"unknown field", "name: a\nbinary: /x\nclient: http-kv\nclient_port: 80\nclinet_port: 81\n", "f.yaml:5: field clinet_port not found"},
		{"wrong type", "name: a\nbinary: /x\nclient: http-kv\nclient_port: eighty\n", "f.yaml:4: cannot unmarshal"},
		{"bad capability", "name: a\nbinary: /x\nclient: http-kv\nclient_port: 80\ncapabilities: [status, time]\n", `f.yaml:5: capabilities[1]: unknown capability "time"`},
		{"etcd with clock", "name: a\nbinary: /x\nclient: etcd\nclient_port: 80\ncapabilities: [clock]\n", "f.yaml:5: capabilities: an etcd client has no /admin/clock"},
		{"bad duration", "name: a\nbinary: /x\nclient: http-kv\nclient_port: 80\nready:\n  timeout: soon\n", `f.yaml:6: "soon" is not a duration`},
		{"relative data dir", "name: a\nbinary: /x\nclient: http-kv\nclient_port: 80\ndata_dir: data\n", "f.yaml:5: data_dir: must be an absolute path"},
		{"bad template", "name: a\nbinary: /x\nclient: http-kv\nclient_port: 80\nargs: [\"--id={{.ID\"]\n", "f.yaml:5: args[0]:"},
		{"unknown template field", "name: a\nbinary: /x\nclient: http-kv\nclient_port: 80\nargs: [ok, \"--ip={{.Ip}}\"]\n", "f.yaml:5: args[1]:"},
		{"unknown template field, block list", "name: a\nbinary: /x\nclient: http-kv\nclient_port: 80\nargs:\n  - ok\n  - \"--ip={{.Ip}}\"\n", "f.yaml:7: args[1]: <.Ip>: can't evaluate field Ip"},
		{"unknown option in template", "name: a\nbinary: /x\nclient: http-kv\nclient_port: 80\nargs: [\"{{.Opt.mode}}\"]\n", `f.yaml:5: args[0]:`},
		{"bad env name", "name: a\nbinary: /x\nclient: http-kv\nclient_port: 80\nenv:\n  MY-VAR: x\n", "f.yaml:6: env.MY-VAR: is not a variable name"},
		{"default outside values", "name: a\nbinary: /x\nclient: http-kv\nclient_port: 80\noptions:\n  mode:\n    default: slow\n    values: [fast]\n", `f.yaml:6: options.mode: default "slow" is not one of its values fast`},
		{"unknown runtime", "name: a\nbinary: /x\nclient: http-kv\nclient_port: 80\nruntimes: [k8s]\n", `f.yaml:5: runtimes[0]: unknown runtime "k8s"`},
		{"image on local", "name: a\nimage: a:1\nclient: http-kv\nclient_port: 80\nruntimes: [local]\n", "f.yaml:5: runtimes: an image target runs on docker only"},
		{"not a map", "- a\n- b\n", "f.yaml:1: cannot unmarshal"},
		{"ready path", "name: a\nbinary: /x\nclient: http-kv\nclient_port: 80\nready:\n  http: health\n", "f.yaml:6: ready.http: must be a path"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.spec), "f.yaml")
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), c.want), "error %q should start with %q", err, c.want)
		})
	}
}

func TestTemplatesRenderEveryPeerForm(t *testing.T) {
	s, err := Parse([]byte(goodSpec), "mykv.yaml")
	require.NoError(t, err)
	opts, err := s.Resolve(map[string]string{"mode": "safe"})
	require.NoError(t, err)
	a := targets.NodeArgs{
		ID: "n2", IP: "10.9.0.12", DataDir: "/data", ClientListen: "0.0.0.0:9000", PeerListen: "0.0.0.0:9001",
		Peers:          map[string]string{"n1": "10.9.0.11:9001", "n2": "10.9.0.12:9001", "n10": "10.9.0.20:9001"},
		PeerClientURLs: map[string]string{"n1": "http://10.9.0.11:9000", "n2": "http://10.9.0.12:9000", "n10": "http://10.9.0.20:9000"},
	}
	n := NodeFrom(a, opts)
	assert.Equal(t, "10.9.0.12:9000", n.ClientAddr)
	assert.Equal(t, "10.9.0.12:9001", n.PeerAddr)
	assert.Equal(t, "n1=http://10.9.0.11:9001,n2=http://10.9.0.12:9001,n10=http://10.9.0.20:9001", n.InitialCluster(), "node order, n10 last")
	assert.Equal(t, "10.9.0.11:9001,10.9.0.12:9001,10.9.0.20:9001", n.PeerAddrs())
	assert.Equal(t, "n1=10.9.0.11:9001,n2=10.9.0.12:9001,n10=10.9.0.20:9001", n.PeerMap())
	assert.Equal(t, "n1=http://10.9.0.11:9000,n2=http://10.9.0.12:9000,n10=http://10.9.0.20:9000", n.ClientURLs())
	assert.Equal(t, "10.9.0.11:9000,10.9.0.12:9000,10.9.0.20:9000", n.ClientAddrs())

	tg, err := New(s, map[string]string{"mode": "safe"}, time.Second)
	require.NoError(t, err)
	args, err := tg.Args(a)
	require.NoError(t, err)
	assert.Equal(t, []string{"--id=n2", "--listen=0.0.0.0:9000", "--peers=10.9.0.11:9001,10.9.0.12:9001,10.9.0.20:9001", "--data=/data", "--mode=safe"}, args)
	env, err := tg.Env(a)
	require.NoError(t, err)
	assert.Equal(t, []string{"MYKV_CLUSTER=n1=http://10.9.0.11:9001,n2=http://10.9.0.12:9001,n10=http://10.9.0.20:9001"}, env)

	// A template can range over the peers and use the options.
	s.Args = []string{`{{range $i, $p := .Peers}}{{if $i}};{{end}}{{$p.ID}}@{{$p.IP}}{{end}}`, `{{if eq .Opt.mode "safe"}}--fsync{{end}}`}
	args, err = tg.Args(a)
	require.NoError(t, err)
	assert.Equal(t, []string{"n1@10.9.0.11;n2@10.9.0.12;n10@10.9.0.20", "--fsync"}, args)
}

func TestLocalRuntimeAddresses(t *testing.T) {
	// On the local runtime the node binds 127.0.0.1 ports, and reaches its peers through proxies.
	a := targets.NodeArgs{ID: "n1", IP: "127.0.0.1", ClientListen: "127.0.0.1:40001", PeerListen: "127.0.0.1:40002",
		Peers: map[string]string{"n1": "127.0.0.1:40002", "n2": "127.0.0.1:41002"}, PeerClientURLs: map[string]string{"n1": "http://127.0.0.1:40001", "n2": "http://127.0.0.1:41001"}}
	n := NodeFrom(a, nil)
	assert.Equal(t, "127.0.0.1:40001", n.ClientAddr)
	assert.Equal(t, 40002, n.PeerPort)
	assert.Equal(t, "n1=127.0.0.1:40002,n2=127.0.0.1:41002", n.PeerMap())
}

func TestResolveOptions(t *testing.T) {
	s, err := Parse([]byte(goodSpec), "mykv.yaml")
	require.NoError(t, err)
	o, err := s.Resolve(nil)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"mode": "fast"}, o)
	_, err = s.Resolve(map[string]string{"mode": "reckless"})
	fe, ok := field.As(err)
	require.True(t, ok, "a bad option is a *field.Error: %v", err)
	assert.Equal(t, "mode", fe.Field)
	assert.Equal(t, `unknown mode "reckless" for target mykv (want fast, safe)`, fe.Msg)
	_, err = s.Resolve(map[string]string{"flaw": "stale-reads"})
	fe, ok = field.As(err)
	require.True(t, ok, "a bad option is a *field.Error: %v", err)
	assert.Equal(t, "flaw", fe.Field)
	assert.Equal(t, `target mykv has no option "flaw" (its options: mode)`, fe.Msg)
}

func TestBuiltins(t *testing.T) {
	assert.Equal(t, []string{"etcd", "paxos"}, Builtins())
	for _, name := range Builtins() {
		s, err := Builtin(name)
		require.NoError(t, err, name)
		assert.Equal(t, name, s.Name)
	}
	_, err := Builtin("cassandra")
	require.ErrorContains(t, err, `unknown target "cassandra" (the built-in targets are etcd, paxos;`)

	// The Paxos spec's flaws are exactly the store's.
	p, err := Builtin("paxos")
	require.NoError(t, err)
	want := []string{string(core.FlawNone)}
	for _, f := range core.Flaws {
		want = append(want, string(f))
	}
	assert.ElementsMatch(t, want, p.Options["flaw"].Values)
	assert.Equal(t, SkepticBinary, p.BinaryPath())

	// The read mode the Paxos node gets: the given one, else lease for wallclock-lease, else index.
	for _, c := range []struct{ flaw, read, want string }{
		{"", "", "--read=index"}, {"wallclock-lease", "", "--read=lease"}, {"wallclock-lease", "index", "--read=index"}, {"stale-reads", "log", "--read=log"},
	} {
		given := map[string]string{}
		if c.flaw != "" {
			given["flaw"] = c.flaw
		}
		if c.read != "" {
			given["read"] = c.read
		}
		tg, err := New(p, given, time.Second)
		require.NoError(t, err)
		args, err := tg.Args(targets.NodeArgs{ID: "n1", IP: "10.0.0.11", ClientListen: "0.0.0.0:8080", PeerListen: "0.0.0.0:7070", DataDir: "/data",
			Peers: map[string]string{"n1": "10.0.0.11:7070"}, PeerClientURLs: map[string]string{"n1": "http://10.0.0.11:8080"}})
		require.NoError(t, err)
		assert.True(t, slices.Contains(args, c.want), "flaw %q read %q: args %v lack %s", c.flaw, c.read, args, c.want)
	}

	e, err := Builtin("etcd")
	require.NoError(t, err)
	assert.False(t, e.RunsOn("local"), "etcd's members must agree on one peer address each; the local proxies differ per node")
	tg, err := New(e, nil, time.Second)
	require.NoError(t, err)
	args, err := tg.Args(targets.NodeArgs{ID: "n2", IP: "10.0.0.12", ClientListen: "0.0.0.0:2379", PeerListen: "0.0.0.0:2380", DataDir: "/data",
		Peers: map[string]string{"n1": "10.0.0.11:2380", "n2": "10.0.0.12:2380"}})
	require.NoError(t, err)
	assert.Contains(t, args, "--initial-cluster=n1=http://10.0.0.11:2380,n2=http://10.0.0.12:2380")
	assert.Contains(t, args, "--initial-advertise-peer-urls=http://10.0.0.12:2380")
	assert.Contains(t, args, "--advertise-client-urls=http://10.0.0.12:2379")
}

// FuzzParse: any input is either a spec that renders on the sample cluster, or an error that names the file;
// never a panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte(goodSpec))
	for _, name := range Builtins() {
		b, _ := builtinFS.ReadFile("builtin/" + name + ".yaml")
		f.Add(b)
	}
	f.Add([]byte("name: a\nbinary: /x\nclient: http-kv\nclient_port: 80\nargs: [\"{{range .Peers}}{{.ID}}{{end}}\"]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b, "fuzz.yaml")
		if err != nil {
			require.True(t, strings.HasPrefix(err.Error(), "fuzz.yaml"), "error %q does not name the file", err)
			return
		}
		// A spec that parsed is complete, and its templates render for every node of a sample cluster.
		require.NotEmpty(t, s.Name, "accepted a spec without a name: %+v", s)
		require.NotEqual(t, s.Binary == "", s.Image == "", "accepted a spec with both or neither of binary and image: %+v", s)
		require.GreaterOrEqual(t, s.ClientPort, 1, "accepted a spec without a client port: %+v", s)
		require.Positive(t, s.Ready.Timeout, "accepted a spec without a readiness timeout: %+v", s)
		opts, err := s.Resolve(nil)
		require.NoError(t, err, "its own defaults are refused")
		_, err = s.RenderArgs(SampleNode(s, opts))
		require.NoError(t, err, "accepted, but its args do not render")
	})
}
