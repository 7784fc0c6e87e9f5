package etcd

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/skeptic-dev/skeptic/history"
)

// TestClassify pins the rules of the package doc on the error values gRPC and etcd produce (their texts as the
// real tests in client_test.go observed them, and as grpc's transport writes them).
func TestClassify(t *testing.T) {
	live := context.Background()
	expired, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	canceled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		err  error
		want history.Type
	}{
		{"refused", live, status.Error(codes.Unavailable, `connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:1: connect: connection refused"`), history.Fail},
		{"dial timeout", live, status.Error(codes.Unavailable, `connection error: desc = "transport: Error while dialing: dial tcp 10.0.0.1:2379: i/o timeout"`), history.Fail},
		{"preface", live, status.Error(codes.Unavailable, `connection error: desc = "error reading server preface: connection reset by peer"`), history.Fail},
		{"reset in flight", live, status.Error(codes.Unavailable, "error reading from server: connection reset by peer"), history.Info},
		{"closing", live, status.Error(codes.Unavailable, "transport is closing"), history.Info},
		{"EOF in flight", live, status.Error(codes.Unavailable, "error reading from server: EOF"), history.Info},
		// Waiting for a connection until the deadline: unsent in fact, but told apart only by its text; info.
		{"deadline while connecting", expired, status.Error(codes.DeadlineExceeded, `latest balancer error: connection error: desc = "transport: Error while dialing: dial tcp: i/o timeout"`), history.Info},
		{"deadline", expired, context.DeadlineExceeded, history.Info},
		{"canceled", canceled, context.Canceled, history.Info},
		{"request timed out", live, rpctypes.ErrTimeout, history.Info},
		{"leader failure", live, rpctypes.ErrTimeoutDueToLeaderFail, history.Info},
		{"leader changed", live, rpctypes.ErrLeaderChanged, history.Info},
		{"no leader", live, rpctypes.ErrNoLeader, history.Info},
		{"too many requests", live, rpctypes.ErrTooManyRequests, history.Info},
		{"grpc no leader", live, rpctypes.ErrGRPCNoLeader, history.Info},
		{"unknown", live, errors.New("something else"), history.Info},
		{"other code mentioning dialing", live, status.Error(codes.Internal, "transport: Error while dialing"), history.Info},
	} {
		out := classify(tc.ctx, tc.err)
		assert.Equal(t, tc.want, out.Type, "%s: %+v", tc.name, out)
		assert.NotEmpty(t, out.Error, tc.name)
	}
	assert.Contains(t, classify(expired, context.DeadlineExceeded).Error, "timed out")
	assert.Contains(t, classify(canceled, context.Canceled).Error, "canceled")
	assert.Contains(t, classify(live, rpctypes.ErrGRPCLeaderChanged).Error, "leader changed")
}
