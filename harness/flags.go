package harness

// Parsing the values of flags that the Test does not hold as typed: --concurrency, the nemesis flags, the seed.

import (
	crand "crypto/rand"
	"encoding/binary"
	"strconv"
	"strings"
	"time"

	"github.com/skeptic-dev/skeptic/internal/field"
	"github.com/skeptic-dev/skeptic/nemesis"
)

// DefaultConcurrency is the default of --concurrency, and so of Default's Concurrency: two workers per node.
const DefaultConcurrency = "2n"

// ParseConcurrency reads --concurrency: an integer, or Jepsen's "Kn", K times the number of nodes. Errors are
// *field.Error for "concurrency".
func ParseConcurrency(s string, nodes int) (int, error) {
	s = strings.TrimSpace(s)
	if strings.HasSuffix(s, "n") {
		k, err := strconv.Atoi(strings.TrimSuffix(s, "n"))
		if err != nil || k < 1 {
			return 0, field.Errorf("concurrency", "%q is neither an integer nor Kn (K times --nodes, such as 2n)", s)
		}
		return k * nodes, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, field.Errorf("concurrency", "%q is neither an integer nor Kn (K times --nodes, such as 2n)", s)
	}
	return n, nil
}

// ParseNemesis reads the nemesis flags into options with their defaults filled in. A strategy flag (--partition
// majority) enables its fault kind even when --nemesis does not name it. Errors are *field.Error under
// "nemesis" ("nemesis.partition").
func ParseNemesis(f nemesis.Flags) (nemesis.Options, error) {
	kinds := map[string]string{nemesis.FaultPartition: f.Partition, nemesis.FaultKill: f.Kill,
		nemesis.FaultPause: f.Pause, nemesis.FaultClock: f.Clock}
	for _, k := range nemesis.KnownFaults {
		if kinds[k] != "" && f.Nemesis != "none" {
			f.Nemesis = strings.TrimPrefix(f.Nemesis+","+k, ",")
		}
	}
	o, err := nemesis.ParseOptions(f)
	if err != nil {
		return nemesis.Options{}, nemesisError(err)
	}
	return o, nil
}

// RandomSeed returns a fresh seed for a run that was given none.
func RandomSeed() int64 {
	var b [8]byte
	if _, err := crand.Read(b[:]); err != nil {
		return time.Now().UnixNano()
	}
	return int64(binary.LittleEndian.Uint64(b[:]) >> 1)
}
