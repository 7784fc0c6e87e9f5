// Package etcd is the client of a real etcd cluster as a test target: a targets.Client bound to one member,
// speaking etcd's v3 gRPC API through go.etcd.io/etcd/client/v3.
//
// One Client talks to one member only: no balancing across members and no endpoint sync, so a worker whose
// member is cut off stays cut off, as in Jepsen. The register operations map to etcd as follows, with values
// stored as decimal strings:
//
//	read   Get(key), linearizable (ReadIndex through the leader) or, with ReadMode serializable, from the
//	       member's own state                                   -> ok, the value or nil when absent
//	write  Put(key, "v")                                        -> ok
//	cas    Txn If(Value(key) = "from") Then(Put(key, "to")) Else(Get(key))
//	                                                            -> ok, or fail cas-mismatch with the value
//	                                                               the Else branch saw (nil when absent)
//
// # Outcomes
//
// The classification is the soundness of the check (see targets.Client). It is the same for reads and writes, as
// in targets/httpkv; the checker drops a read that is not ok anyway:
//
//	the request could not be sent: gRPC failed it before giving it a   fail: nothing reached the member
//	connection, because the last attempt to connect failed (code
//	Unavailable, with a message of dialing, such as connection refused
//	or a dial timeout, or of the HTTP/2 handshake, such as "error
//	reading server preface", which precedes any request)
//	an empty key or an unknown operation (checked before sending)      fail
//	the cas compare did not hold and the Else Get answered              fail cas-mismatch, Value what it saw
//	everything else after the request may have been sent: the ctx's   info
//	deadline or the client's Timeout, a canceled ctx, the connection
//	closed or reset ("error reading from server", "transport is
//	closing"), any error of the server ("etcdserver: request timed
//	out", "leader changed", "no leader", "too many requests", ...)
//	a value that is not a decimal int64, or a cas that found the       info
//	expected number written differently ("07" for 7)
//
// No server error counts as definite: etcd may have proposed the request to raft before it answers one, and the
// proposal can still commit. To make "could not be sent" a fast and certain answer, the gRPC connection is set up
// unlike clientv3's default: requests do not wait for a connection (WaitForReady false), clientv3 does not retry
// (MaxUnaryRetries 1), and reconnecting backs off to at most 1s. So a request to a killed member fails at once
// (connection refused), while a request in flight when its member dies is info.
//
// Status asks a member for its view of the leader (its own id and name, the leader's id and name), for a nemesis
// that aims at the leader. Args builds a member's command line; etcdtest starts real clusters of local
// processes for tests.
//
// # Starting a static cluster
//
// Tested with Debian 12's etcd-server (etcd 3.4.23, /usr/bin/etcd, dynamically linked against libc). A member
// of the 3-member cluster n1, n2, n3 at 10.201.3.11-13 starts with (Args builds exactly this):
//
//	etcd --name n1 --data-dir /data \
//	  --listen-client-urls http://10.201.3.11:2379 --advertise-client-urls http://10.201.3.11:2379 \
//	  --listen-peer-urls http://10.201.3.11:2380 --initial-advertise-peer-urls http://10.201.3.11:2380 \
//	  --initial-cluster n1=http://10.201.3.11:2380,n2=http://10.201.3.12:2380,n3=http://10.201.3.13:2380 \
//	  --initial-cluster-state new --initial-cluster-token skeptic-RUNID --logger zap
//
// All of --name, --data-dir, the four URL flags, --initial-cluster and --initial-cluster-state are needed: 3.4's
// defaults (localhost URLs, name "default") form a one-member cluster. --initial-cluster-token keeps members of
// different runs from joining each other; --logger zap silences 3.4's warning about its deprecated default
// logger. The same arguments restart a killed member: once --data-dir holds a member, etcd ignores the
// --initial-* flags and rejoins with its data. Each --name must be the key of its own peer URL in
// --initial-cluster. Clients use the --advertise-client-urls (here 10.201.3.11:2379). A member may listen on
// 0.0.0.0 (Member.ListenClientURL, ListenPeerURL) but must advertise an address the others reach. etcd 3.4 only
// warns when --data-dir is not mode 0700, so a Docker volume mounted there works.
//
// Every member must be given the same peer URLs: etcd derives each member's id, and the cluster's, from the
// URLs in --initial-cluster (and the token), so members that reach each other through different addresses (such
// as the local runtime's per-node link proxies) compute different ids and refuse each other ("request cluster ID
// mismatch"). etcd therefore runs on the docker runtime, where every member has one address, and not behind
// per-node proxies.
package etcd
