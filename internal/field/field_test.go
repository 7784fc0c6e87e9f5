package field

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestError(t *testing.T) {
	e := Errorf("loss_percent", "%v is not between 0 and 100", 150.0)
	assert.Equal(t, "loss_percent: 150 is not between 0 and 100", e.Error())
	assert.Equal(t, "whole", (&Error{Msg: "whole"}).Error())
}

func TestIn(t *testing.T) {
	err := In("nemesis", fmt.Errorf("options: %w", Errorf("loss_percent", "too big")))
	fe, ok := As(err)
	require.True(t, ok)
	assert.Equal(t, "nemesis.loss_percent", fe.Field)
	assert.Equal(t, "too big", fe.Msg)

	fe, ok = As(In("nemesis", &Error{Msg: "no faults"}))
	require.True(t, ok)
	assert.Equal(t, "nemesis", fe.Field)

	plain := errors.New("disk full")
	assert.Same(t, plain, In("nemesis", plain), "an error that is not a field error passes unchanged")
	assert.NoError(t, In("nemesis", nil))
	_, ok = As(plain)
	assert.False(t, ok)
}
