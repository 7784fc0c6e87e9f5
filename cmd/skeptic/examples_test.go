package main

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// TestExampleCIWorkflow parses examples/ci/skeptic.yml as YAML and checks it does what it says: it runs
// `skeptic run` with flags the run command really has (the same flag parser reads them), writes JUnit, does not
// let the job pass on a failing verdict, and uploads the store whatever the verdict.
func TestExampleCIWorkflow(t *testing.T) {
	b, err := os.ReadFile("../../examples/ci/skeptic.yml")
	require.NoError(t, err)
	var wf struct {
		Name string
		On   map[string]any `yaml:"on"`
		Jobs map[string]struct {
			RunsOn string `yaml:"runs-on"`
			Steps  []struct {
				Name            string
				Uses            string
				Run             string
				If              string `yaml:"if"`
				ContinueOnError any    `yaml:"continue-on-error"`
				With            map[string]any
			}
		}
	}
	require.NoError(t, yaml.Unmarshal(b, &wf))
	require.NotEmpty(t, wf.On)
	require.Len(t, wf.Jobs, 1)
	var ran, uploaded bool
	for _, job := range wf.Jobs {
		require.NotEmpty(t, job.RunsOn)
		for _, st := range job.Steps {
			if strings.Contains(st.Run, "skeptic run") {
				ran = true
				require.Nil(t, st.ContinueOnError, "a failing verdict must fail the job")
				require.Empty(t, st.If)
				args := strings.Fields(st.Run)
				require.Equal(t, "run", args[1])
				cmd := newRunCmd()
				require.NoError(t, cmd.ParseFlags(args[2:]), "the workflow's flags must be run's flags")
				for _, name := range []string{"junit", "store", "nemesis"} {
					assert.True(t, cmd.Flags().Changed(name), "--%s", name)
				}
				store, _ := cmd.Flags().GetString("store")
				junitPath, _ := cmd.Flags().GetString("junit")
				t.Logf("runs: %s", st.Run)
				for _, up := range job.Steps {
					if strings.HasPrefix(up.Uses, "actions/upload-artifact@") {
						uploaded = true
						assert.Equal(t, "always()", up.If, "the store is uploaded whatever the verdict")
						path, _ := up.With["path"].(string)
						assert.Contains(t, path, store)
						assert.Contains(t, path, junitPath)
					}
				}
			}
		}
	}
	require.True(t, ran, "no step runs skeptic run")
	require.True(t, uploaded, "no step uploads the store")
}
