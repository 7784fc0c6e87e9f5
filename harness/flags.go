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

// ParseConcurrency reads --concurrency: an integer, or Jepsen's "Kn", K times the number of nodes.
func ParseConcurrency(s string, nodes int) (int, error) {
	s = strings.TrimSpace(s)
	if strings.HasSuffix(s, "n") {
		k, err := strconv.Atoi(strings.TrimSuffix(s, "n"))
		if err != nil || k < 1 {
			return 0, configErrorf("--concurrency", "%q is neither an integer nor Kn (K times --nodes, such as 2n)", s)
		}
		return k * nodes, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, configErrorf("--concurrency", "%q is neither an integer nor Kn (K times --nodes, such as 2n)", s)
	}
	return n, nil
}

// ParseNemesis reads the nemesis flags into options with their defaults filled in. A strategy flag (--partition
// majority) enables its fault kind even when --nemesis does not name it. Errors are *ConfigError naming the flag.
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
		return nemesis.Options{}, nemesisConfigError(err)
	}
	return o, nil
}

// nemesisFlags names the flag that fills each field of the nemesis's part of config.json.
var nemesisFlags = map[string]string{
	"faults": "--nemesis", "partition": "--partition", "kill": "--kill", "pause": "--pause", "clock": "--clock",
	"interval": "--nemesis-interval", "mode": "--nemesis-mode", "loss_percent": "--loss", "delay": "--delay",
	"jitter": "--jitter", "schedule_file": "--nemesis-schedule",
}

// nemesisConfigError turns the *field.Error of the nemesis package into a *ConfigError naming the flag; any
// other error goes to asConfigError.
func nemesisConfigError(err error) error {
	fe, ok := err.(*field.Error)
	if !ok {
		return asConfigError(err)
	}
	if flag, ok := nemesisFlags[fe.Field]; ok {
		return &ConfigError{Flag: flag, Msg: fe.Msg}
	}
	return &ConfigError{Msg: fe.Error()}
}

// RandomSeed returns a fresh seed for a run that was given none.
func RandomSeed() int64 {
	var b [8]byte
	if _, err := crand.Read(b[:]); err != nil {
		return time.Now().UnixNano()
	}
	return int64(binary.LittleEndian.Uint64(b[:]) >> 1)
}
