package spec

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/skeptic-dev/skeptic/targets"
)

// Node is what a spec's args and env templates see, for one node:
//
//	{{.ID}} {{.IP}} {{.DataDir}} {{.ClientPort}} {{.PeerPort}}
//	{{.ClientListen}} {{.PeerListen}}   the host:port to bind (0.0.0.0:8080 in a container)
//	{{.ClientAddr}} {{.PeerAddr}}       the host:port others reach it at
//	{{.Opt.name}}                       the target's options ({{index .Opt "etcd-read"}} for a name with a dash)
//	{{range .Peers}}{{.ID}} {{.PeerAddr}}{{end}}   every node, this one included
//
// and the peer lists common systems take, every node included, in node order:
//
//	{{.InitialCluster}}  n1=http://10.0.0.11:2380,n2=http://10.0.0.12:2380   (etcd's --initial-cluster)
//	{{.PeerAddrs}}       10.0.0.11:2380,10.0.0.12:2380
//	{{.PeerMap}}         n1=10.0.0.11:2380,n2=10.0.0.12:2380
//	{{.ClientURLs}}      n1=http://10.0.0.11:2379,n2=http://10.0.0.12:2379
//	{{.ClientAddrs}}     10.0.0.11:2379,10.0.0.12:2379
//
// Peer addresses are those this node dials: on the local runtime, the harness's link proxies.
type Node struct {
	ID                       string
	IP                       string
	DataDir                  string
	ClientPort, PeerPort     int
	ClientListen, PeerListen string
	ClientAddr, PeerAddr     string
	Peers                    []Peer
	Opt                      map[string]string
}

// Peer is one node as another node reaches it.
type Peer struct {
	ID         string
	IP         string
	PeerAddr   string
	ClientAddr string
}

// PeerURL is http://PeerAddr.
func (p Peer) PeerURL() string { return "http://" + p.PeerAddr }

// ClientURL is http://ClientAddr.
func (p Peer) ClientURL() string { return "http://" + p.ClientAddr }

func (n Node) join(f func(Peer) string) string {
	parts := make([]string, len(n.Peers))
	for i, p := range n.Peers {
		parts[i] = f(p)
	}
	return strings.Join(parts, ",")
}

// InitialCluster is id=http://peer,... as etcd's --initial-cluster takes it.
func (n Node) InitialCluster() string {
	return n.join(func(p Peer) string { return p.ID + "=" + p.PeerURL() })
}

// PeerAddrs is peer,peer,...
func (n Node) PeerAddrs() string { return n.join(func(p Peer) string { return p.PeerAddr }) }

// PeerMap is id=peer,...
func (n Node) PeerMap() string { return n.join(func(p Peer) string { return p.ID + "=" + p.PeerAddr }) }

// ClientURLs is id=http://client,...
func (n Node) ClientURLs() string {
	return n.join(func(p Peer) string { return p.ID + "=" + p.ClientURL() })
}

// ClientAddrs is client,client,...
func (n Node) ClientAddrs() string { return n.join(func(p Peer) string { return p.ClientAddr }) }

// NodeFrom turns what a runtime says of a node into the templates' view of it.
func NodeFrom(a targets.NodeArgs, opts map[string]string) Node {
	n := Node{ID: a.ID, IP: a.IP, DataDir: a.DataDir, ClientListen: a.ClientListen, PeerListen: a.PeerListen, Opt: opts}
	n.ClientPort = port(a.ClientListen)
	n.PeerPort = port(a.PeerListen)
	if n.IP == "" {
		n.IP = host(a.ClientListen)
	}
	n.ClientAddr = net.JoinHostPort(n.IP, strconv.Itoa(n.ClientPort))
	if n.PeerPort > 0 {
		n.PeerAddr = net.JoinHostPort(n.IP, strconv.Itoa(n.PeerPort))
	}
	ids := make([]string, 0, len(a.Peers)+len(a.PeerClientURLs))
	seen := map[string]bool{}
	for _, m := range []map[string]string{a.Peers, a.PeerClientURLs} {
		for id := range m {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	sort.Slice(ids, func(i, j int) bool { return idLess(ids[i], ids[j]) })
	for _, id := range ids {
		p := Peer{ID: id, PeerAddr: a.Peers[id], ClientAddr: strings.TrimPrefix(a.PeerClientURLs[id], "http://")}
		p.IP = host(p.PeerAddr)
		if p.IP == "" {
			p.IP = host(p.ClientAddr)
		}
		n.Peers = append(n.Peers, p)
	}
	return n
}

// idLess orders n2 before n10.
func idLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

func port(hostport string) int {
	_, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return 0
	}
	v, _ := strconv.Atoi(p)
	return v
}

func host(hostport string) string {
	h, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return ""
	}
	return h
}

// SampleNode is node n1 of a sample 3-node cluster in containers, used to try a spec's templates.
func SampleNode(s *Spec, opts map[string]string) Node {
	a := targets.NodeArgs{
		ID: "n1", IP: "10.0.0.11", DataDir: s.DataDir,
		ClientListen: fmt.Sprintf("0.0.0.0:%d", s.ClientPort), PeerListen: fmt.Sprintf("0.0.0.0:%d", s.PeerPort),
		Peers: map[string]string{}, PeerClientURLs: map[string]string{},
	}
	for i := 1; i <= 3; i++ {
		ip := fmt.Sprintf("10.0.0.%d", 10+i)
		id := fmt.Sprintf("n%d", i)
		a.Peers[id] = fmt.Sprintf("%s:%d", ip, s.PeerPort)
		a.PeerClientURLs[id] = fmt.Sprintf("http://%s:%d", ip, s.ClientPort)
	}
	return NodeFrom(a, opts)
}
