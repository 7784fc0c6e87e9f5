package nemesis_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/nemesis"
)

// blockingKill blocks in Kill until released, to show that Down answers while an op runs.
type blockingKill struct {
	*fakes
	in, release chan struct{}
	once        *sync.Once
}

func (b blockingKill) Kill(ctx context.Context, n string) error {
	b.once.Do(func() { close(b.in) })
	<-b.release
	return b.fakes.Kill(ctx, n)
}

func TestDownCountsKilledNodesAndAnswersDuringAnOp(t *testing.T) {
	f := newFakes()
	b := blockingKill{f, make(chan struct{}), make(chan struct{}), &sync.Once{}}
	env := f.env()
	env.Proc = b
	n := nemesis.New(env)
	done := make(chan error, 1)
	go func() {
		done <- n.Run(context.Background(), nemesis.Schedule{{F: nemesis.FKill, Value: json.RawMessage(`{"nodes":["n1","n3"]}`)}})
	}()
	<-b.in
	assert.Equal(t, map[string]bool{"n1": true}, n.Down(), "a node being killed is down already")
	close(b.release)
	require.NoError(t, <-done)
	assert.Equal(t, map[string]bool{"n1": true, "n3": true}, n.Down())
	require.NoError(t, n.Run(context.Background(), nemesis.Schedule{{F: nemesis.FStart, Value: json.RawMessage(`{"nodes":["n3"]}`)}}))
	assert.Equal(t, map[string]bool{"n1": true}, n.Down())
	require.NoError(t, n.HealAll(context.Background()))
	assert.Empty(t, n.Down())
}
