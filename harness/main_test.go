package harness

import (
	"os"
	"testing"

	"github.com/skeptic-dev/skeptic/internal/testbin"
)

// TestMain removes the programs the fault tests built once the tests are done.
func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}
