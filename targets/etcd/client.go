package etcd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/targets"
)

// The read modes of Options.ReadMode.
const (
	// ReadLinearizable makes a read go through etcd's ReadIndex: the member confirms with a quorum that it has
	// the latest committed value before it answers (etcd's default).
	ReadLinearizable = "linearizable"
	// ReadSerializable makes the member answer from its own state, without asking a quorum: fast, and stale
	// when the member is behind or cut off.
	ReadSerializable = "serializable"
)

// Defaults of Options.
const (
	DefaultTimeout     = 5 * time.Second
	DefaultDialTimeout = 2 * time.Second
)

// Options configure a Client. The zero value means: linearizable reads, DefaultTimeout, DefaultDialTimeout.
type Options struct {
	// ReadMode is ReadLinearizable (or "", the default) or ReadSerializable.
	ReadMode string
	// Timeout bounds each operation (0: DefaultTimeout; the caller's ctx may be shorter). An operation that
	// times out is info.
	Timeout time.Duration
	// DialTimeout bounds each attempt to open the TCP connection to the member (0: DefaultDialTimeout).
	DialTimeout time.Duration
}

// validate fills in the defaults and returns an error naming the first bad option.
func (o *Options) validate() error {
	switch o.ReadMode {
	case "":
		o.ReadMode = ReadLinearizable
	case ReadLinearizable, ReadSerializable:
	default:
		return fmt.Errorf("etcd client option ReadMode: %q is neither %q nor %q", o.ReadMode, ReadLinearizable, ReadSerializable)
	}
	switch {
	case o.Timeout < 0:
		return fmt.Errorf("etcd client option Timeout: %s is negative", o.Timeout)
	case o.Timeout == 0:
		o.Timeout = DefaultTimeout
	}
	switch {
	case o.DialTimeout < 0:
		return fmt.Errorf("etcd client option DialTimeout: %s is negative", o.DialTimeout)
	case o.DialTimeout == 0:
		o.DialTimeout = DefaultDialTimeout
	}
	return nil
}

// Client is a targets.Client bound to one etcd member: it never talks to another member, so a worker whose
// member is cut off stays cut off. It is used by one worker at a time.
type Client struct {
	endpoint string
	cli      *clientv3.Client
	opts     Options
}

var _ targets.Client = (*Client)(nil)

// hostPort checks an endpoint, host:port or http://host:port, and returns its host:port.
func hostPort(endpoint string) (string, error) {
	hp := endpoint
	if strings.Contains(endpoint, "://") {
		u, err := url.Parse(endpoint)
		if err != nil {
			return "", fmt.Errorf("etcd endpoint %q: %v", endpoint, err)
		}
		if u.Scheme != "http" {
			return "", fmt.Errorf("etcd endpoint %q: scheme %q is not supported (only http, this client has no TLS)", endpoint, u.Scheme)
		}
		if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.User != nil {
			return "", fmt.Errorf("etcd endpoint %q: want http://host:port with nothing after the port", endpoint)
		}
		hp = u.Host
	}
	host, port, err := net.SplitHostPort(hp)
	if err != nil {
		return "", fmt.Errorf("etcd endpoint %q: want host:port or http://host:port: %v", endpoint, err)
	}
	if host == "" {
		return "", fmt.Errorf("etcd endpoint %q: empty host", endpoint)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("etcd endpoint %q: port %q is not a number in 1..65535", endpoint, port)
	}
	return hp, nil
}

// newEtcd returns an etcd client of the single member at host:port. It does not connect yet: gRPC connects on
// the first request and reconnects after a failure, to this member only.
//
// Three settings differ from clientv3's defaults, each so that one operation is one attempt whose fate the
// error tells:
//   - requests do not wait for a connection (gRPC's WaitForReady(false), where clientv3 sets true): when the
//     last attempt to connect failed, a request fails at once, unsent, instead of waiting for its deadline;
//   - clientv3 does not retry (MaxUnaryRetries 1): the worker decides what comes next;
//   - reconnecting backs off from 100ms to at most 1s (gRPC's default grows to 120s), so that a member that comes
//     back is reached again within a second.
func newEtcd(hp string, dialTimeout time.Duration) (*clientv3.Client, error) {
	d := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	return clientv3.New(clientv3.Config{
		Endpoints: []string{"http://" + hp},
		// No AutoSyncInterval: the client never learns of the other members.
		DialTimeout:          dialTimeout,
		DialKeepAliveTime:    10 * time.Second, // gRPC's minimum; etcd refuses pings more often than every 5s
		DialKeepAliveTimeout: 3 * time.Second,
		MaxUnaryRetries:      1,
		DialOptions: []grpc.DialOption{
			grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
				return d.DialContext(ctx, "tcp", addr)
			}),
			grpc.WithConnectParams(grpc.ConnectParams{
				Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
				MinConnectTimeout: dialTimeout,
			}),
			// Runs after clientv3's own interceptor, so its WaitForReady(false) comes last and wins.
			grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
				return invoker(ctx, method, req, reply, cc, append(opts, grpc.WaitForReady(false))...)
			}),
		},
		Logger: zap.NewNop(),
	})
}

// New returns a client of the etcd member whose client URL is endpoint (http://host:port or host:port). It does
// not connect yet, so it succeeds while the member is down; an error means bad options or endpoint, and names
// which.
func New(endpoint string, opts Options) (*Client, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	hp, err := hostPort(endpoint)
	if err != nil {
		return nil, err
	}
	cli, err := newEtcd(hp, opts.DialTimeout)
	if err != nil {
		return nil, fmt.Errorf("etcd client of %s: %w", endpoint, err)
	}
	return &Client{endpoint: endpoint, cli: cli, opts: opts}, nil
}

// Endpoint returns the member's endpoint, as given to New.
func (c *Client) Endpoint() string { return c.endpoint }

// Close closes the client's connection.
func (c *Client) Close() error {
	if err := c.cli.Close(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// Do performs op and classifies its outcome (see the package doc). It returns within ctx's deadline and the
// client's Timeout.
func (c *Client) Do(ctx context.Context, op targets.Op) targets.Outcome {
	if op.Key == "" {
		return fail("the operation has an empty key")
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	switch op.F {
	case targets.FRead:
		var ro []clientv3.OpOption
		if c.opts.ReadMode == ReadSerializable {
			ro = append(ro, clientv3.WithSerializable())
		}
		resp, err := c.cli.Get(ctx, op.Key, ro...)
		if err != nil {
			return classify(ctx, err)
		}
		v, err := value(resp.Kvs, op.Key)
		if err != nil {
			return info("%v", err)
		}
		return targets.Outcome{Type: history.Ok, Value: v}
	case targets.FWrite:
		if _, err := c.cli.Put(ctx, op.Key, strconv.FormatInt(op.Value, 10)); err != nil {
			return classify(ctx, err)
		}
		return targets.Outcome{Type: history.Ok}
	case targets.FCAS:
		from := strconv.FormatInt(op.From, 10)
		resp, err := c.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.Value(op.Key), "=", from)).
			Then(clientv3.OpPut(op.Key, strconv.FormatInt(op.To, 10))).
			Else(clientv3.OpGet(op.Key)).
			Commit()
		if err != nil {
			return classify(ctx, err)
		}
		if resp.Succeeded {
			return targets.Outcome{Type: history.Ok}
		}
		if len(resp.Responses) != 1 || resp.Responses[0].GetResponseRange() == nil {
			return info("cas: the Txn's Else branch answered %d responses, not one Get", len(resp.Responses))
		}
		v, err := value(resp.Responses[0].GetResponseRange().Kvs, op.Key)
		if err != nil {
			return info("cas did not apply, and then: %v", err)
		}
		if v != nil && *v == op.From {
			// The compare is of bytes: a value such as "07" is 7 but not "7". Neither outcome is provable.
			return info("cas did not apply, but key %q holds %q, which is %d written differently", op.Key, resp.Responses[0].GetResponseRange().Kvs[0].Value, op.From)
		}
		return targets.Outcome{Type: history.Fail, Error: history.ErrCASMismatch, Value: v}
	default:
		return fail("unknown operation %q", op.F)
	}
}

// value returns the integer a Get found (nil when the key has no value), or an error saying what is wrong.
func value(kvs []*mvccpb.KeyValue, key string) (*int64, error) {
	switch len(kvs) {
	case 0:
		return nil, nil
	case 1:
	default:
		return nil, fmt.Errorf("a Get of key %q returned %d keys", key, len(kvs))
	}
	if string(kvs[0].Key) != key {
		return nil, fmt.Errorf("a Get of key %q returned key %q", key, kvs[0].Key)
	}
	raw := string(kvs[0].Value)
	v, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("key %q holds %q, which is not a decimal int64", key, snippet(raw))
	}
	return &v, nil
}

func snippet(s string) string {
	const n = 60
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func info(format string, args ...any) targets.Outcome {
	return targets.Outcome{Type: history.Info, Error: fmt.Sprintf(format, args...)}
}

func fail(format string, args ...any) targets.Outcome {
	return targets.Outcome{Type: history.Fail, Error: fmt.Sprintf(format, args...)}
}

// classify turns the error of a request into an outcome; see the package doc for the rules. ctx is the
// request's context.
func classify(ctx context.Context, err error) targets.Outcome {
	if neverSent(err) {
		return fail("not sent: no connection to the member could be made: %s", errDesc(err))
	}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return info("timed out: %s", errDesc(err))
	case ctx.Err() != nil:
		return info("canceled: %s", errDesc(err))
	}
	if st, ok := status.FromError(err); ok {
		return info("%s: %s", st.Code(), errDesc(err))
	}
	return info("%s", errDesc(err))
}

// neverSent reports whether err proves that the request never reached the member. The only such error is
// gRPC's pick error: the request failed, with code Unavailable, before it was given a connection, because the
// last attempt to make one failed. That attempt's error names a step that comes before any request can use the
// connection: dialing, or the HTTP/2 handshake (gRPC hands a connection to requests only after it has read the
// server's preface). A request that was given a connection and then lost it ends with another message ("error
// reading from server", "transport is closing", a reset, a deadline), so it is never taken for this.
func neverSent(err error) bool {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.Unavailable {
		return false
	}
	for _, step := range preReadySteps {
		if strings.Contains(st.Message(), step) {
			return true
		}
	}
	return false
}

// preReadySteps are gRPC's messages (google.golang.org/grpc/internal/transport, newHTTP2Client) for a connection
// attempt that failed before the connection was ready for requests.
var preReadySteps = []string{
	"transport: Error while dialing",
	"transport: error while dialing",
	"transport: failed to write client preface",
	"transport: failed to write initial settings frame",
	"error reading server preface",
	"initial http2 frame from server is not a settings frame",
}

// errDesc is err's message without gRPC's "rpc error: code = ... desc =" wrapping, when it has one.
func errDesc(err error) string {
	if d := rpctypes.ErrorDesc(err); d != "" {
		return d
	}
	return err.Error()
}
