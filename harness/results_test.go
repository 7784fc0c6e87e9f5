package harness

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// jsonFields lists the JSON names of a struct type's fields, nested struct types as name.field.
func jsonFields(t reflect.Type, prefix string) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		out = append(out, prefix+name)
		ft := f.Type
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft.Name() != "Time" {
			out = append(out, jsonFields(ft, prefix+name+".")...)
		}
	}
	sort.Strings(out)
	return out
}

// TestResultsSchema pins results.json's schema (README, "results.json"): a field renamed or removed fails here,
// and must raise ResultsSchema and be said in the README; a field added is added here and there.
func TestResultsSchema(t *testing.T) {
	want := []string{
		"availability", "availability.ops", "availability.ops_outside_faults", "availability.outside_faults", "availability.overall",
		"check_time", "counts", "detection", "detection.at", "detection.found", "detection.key", "dir", "error",
		"faults", "faults.end", "faults.error", "faults.kind", "faults.start", "faults.what", "first_op", "flaw_acts",
		"heal_error", "interrupted", "keys", "keys.key", "keys.ops", "keys.pruned", "keys.verdict", "keys.visualization",
		"notes", "online_checked", "ops", "ops_per_second", "paths", "run_id", "runtime", "schema", "seed", "test",
		"verdict", "warnings",
	}
	assert.Equal(t, want, jsonFields(reflect.TypeOf(Result{}), ""))
	b, err := json.Marshal(Result{Verdict: Valid})
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	assert.Equal(t, float64(ResultsSchema), m["schema"], "every results.json says its schema")
}
