package etcd

import (
	"fmt"
	"slices"
	"strings"
)

// Member describes one member of a static etcd cluster, for Args.
type Member struct {
	// Name is the member's --name, such as n1; it keys Cluster.
	Name string
	// ClientURL is where clients reach it, such as http://10.201.3.11:2379; it listens there too.
	ClientURL string
	// PeerURL is where the other members reach it, such as http://10.201.3.11:2380; it listens there too.
	PeerURL string
	// DataDir is its --data-dir; a restart on the same directory keeps its data and identity.
	DataDir string
	// ListenClientURL and ListenPeerURL, when set, are where it listens instead (such as http://0.0.0.0:2379 in
	// a container); the URLs above are still what it advertises.
	ListenClientURL, ListenPeerURL string
}

// Args returns the command line (after the program) that starts member me of the static cluster whose members
// are all (me included), with cluster token token. The same arguments restart the member after a kill: once its
// data directory holds a member, etcd ignores the --initial-* flags. See the package doc for an example.
func Args(me Member, all []Member, token string) ([]string, error) {
	if me.Name == "" || me.ClientURL == "" || me.PeerURL == "" || me.DataDir == "" {
		return nil, fmt.Errorf("etcd member %+v: Name, ClientURL, PeerURL and DataDir are all required", me)
	}
	if token == "" {
		return nil, fmt.Errorf("etcd member %s: the cluster token is empty", me.Name)
	}
	var peers []string
	found := false
	seen := map[string]bool{}
	for _, m := range all {
		if seen[m.Name] {
			return nil, fmt.Errorf("etcd cluster member %s appears twice", m.Name)
		}
		seen[m.Name] = true
		if m.Name == "" || m.PeerURL == "" || strings.ContainsAny(m.Name, "=,") {
			return nil, fmt.Errorf("etcd cluster member %+v: want a Name without '=' or ',' and a PeerURL", m)
		}
		if m.Name == me.Name {
			if m.PeerURL != me.PeerURL {
				return nil, fmt.Errorf("etcd member %s: PeerURL %s differs from the cluster's %s", me.Name, me.PeerURL, m.PeerURL)
			}
			found = true
		}
		peers = append(peers, m.Name+"="+m.PeerURL)
	}
	if !found {
		return nil, fmt.Errorf("etcd member %s is not one of the cluster's members", me.Name)
	}
	slices.Sort(peers)
	listenClient, listenPeer := me.ClientURL, me.PeerURL
	if me.ListenClientURL != "" {
		listenClient = me.ListenClientURL
	}
	if me.ListenPeerURL != "" {
		listenPeer = me.ListenPeerURL
	}
	return []string{
		"--name", me.Name,
		"--data-dir", me.DataDir,
		"--listen-client-urls", listenClient,
		"--advertise-client-urls", me.ClientURL,
		"--listen-peer-urls", listenPeer,
		"--initial-advertise-peer-urls", me.PeerURL,
		"--initial-cluster", strings.Join(peers, ","),
		"--initial-cluster-state", "new",
		"--initial-cluster-token", token,
		"--logger", "zap",
	}, nil
}
