package etcd

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// MemberStatus is one member's view of its cluster, as etcd's Maintenance.Status and MemberList give it.
type MemberStatus struct {
	// ID and Name are the member's own raft id and --name.
	ID   uint64
	Name string
	// Leader is the raft id of the member this one takes for its leader; 0 when it knows none.
	Leader uint64
	// LeaderName is that leader's --name, from this member's member list; "" when Leader is 0 or not listed.
	LeaderName string
	// RaftTerm is the member's raft term.
	RaftTerm uint64
	// Version is the member's etcd version, such as 3.4.23.
	Version string
}

// Status asks the member at endpoint (http://host:port or host:port) for its view of the leader, with a client
// of its own bound to that member only. The answer is the member's own view: a member cut off from the others
// may still name an old leader. ctx bounds the whole exchange.
func Status(ctx context.Context, endpoint string) (MemberStatus, error) {
	hp, err := hostPort(endpoint)
	if err != nil {
		return MemberStatus{}, err
	}
	cli, err := newEtcd(hp, DefaultDialTimeout)
	if err != nil {
		return MemberStatus{}, fmt.Errorf("etcd status of %s: %w", endpoint, err)
	}
	defer cli.Close()
	st, err := cli.Status(ctx, "http://"+hp)
	if err != nil {
		return MemberStatus{}, fmt.Errorf("etcd status of %s: %s", endpoint, errDesc(err))
	}
	if st.Header == nil {
		return MemberStatus{}, fmt.Errorf("etcd status of %s: the answer has no header", endpoint)
	}
	ms := MemberStatus{ID: st.Header.MemberId, Leader: st.Leader, RaftTerm: st.RaftTerm, Version: st.Version}
	// A serializable member list: the member's own list, which it gives even without a quorum.
	ml, err := cli.MemberList(ctx, clientv3.WithSerializable())
	if err != nil {
		return MemberStatus{}, fmt.Errorf("etcd member list of %s: %s", endpoint, errDesc(err))
	}
	for _, m := range ml.Members {
		if m.ID == ms.ID {
			ms.Name = m.Name
		}
		if ms.Leader != 0 && m.ID == ms.Leader {
			ms.LeaderName = m.Name
		}
	}
	return ms, nil
}
