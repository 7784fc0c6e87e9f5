package nemesis

// The vocabulary of a schedule: its ops, their functions and their values. It is the --nemesis-schedule file
// format, what a run's config.json records, and the value of the nemesis events in a history.

import "encoding/json"

// The functions (Op.F, and history.Event.F of nemesis events) of a schedule.
const (
	FStartPartition = "start-partition" // value PartitionValue
	FStopPartition  = "stop-partition"  // value null
	FKill           = "kill"            // value NodesValue
	FStart          = "start"           // value NodesValue; no nodes: every node the nemesis killed
	FPause          = "pause"           // value NodesValue
	FResume         = "resume"          // value NodesValue; no nodes: every node the nemesis paused
	FClockBump      = "clock-bump"      // value ClockValue with Deltas
	FClockStrobe    = "clock-strobe"    // value ClockValue with Nodes, Delta, Period, For
	FClockSkew      = "clock-skew"      // value ClockValue with Rates
	FClockReset     = "clock-reset"     // value ClockValue with Nodes; no nodes: every node
	FStartLoss      = "start-loss"      // value LinksValue with Percent
	FStopLoss       = "stop-loss"       // value null
	FStartDelay     = "start-delay"     // value LinksValue with Delay and Jitter
	FStopDelay      = "stop-delay"      // value null
	// FHeal is not scheduled: it is the event HealAll records.
	FHeal = "heal"
)

// Op is one timed step of a schedule.
type Op struct {
	// At is when the step happens, on the run's clock: history time, which starts with the load.
	At Duration `json:"at"`
	// F says what the step does (FStartPartition, FKill, ...).
	F string `json:"f"`
	// Value says exactly how; its type depends on F. Null for the stop functions.
	Value json.RawMessage `json:"value,omitempty"`
}

// Schedule is a list of ops in time order. Written as JSON, it is the --nemesis-schedule file format and what a
// run's config.json records:
//
//	[{"at":"10s","f":"start-partition","value":{"strategy":"one","grudge":{"n1":["n2","n3"],"n2":["n1"],"n3":["n1"]}}},
//	 {"at":"20s","f":"stop-partition"}]
type Schedule []Op

// PartitionValue is the value of start-partition. In the events Run records it also says who led.
type PartitionValue struct {
	// Strategy is how Grudge was chosen; with PartLeader, the grudge is chosen when the op runs.
	Strategy string `json:"strategy,omitempty"`
	// Grudge is the partition to apply (Grudge[a] lists the nodes a drops).
	Grudge Grudge `json:"grudge,omitempty"`
	// Leader is the node Cluster.Leader named, in recorded events of the leader strategy.
	Leader string `json:"leader,omitempty"`
}

// NodesValue is the value of kill, start, pause and resume.
type NodesValue struct {
	// Strategy is how Nodes were chosen; with NodesLeader they are chosen when the op runs.
	Strategy string `json:"strategy,omitempty"`
	// Nodes are the nodes acted on. For start and resume, none means every node the nemesis killed or paused.
	Nodes []string `json:"nodes,omitempty"`
	// Leader is the node Cluster.Leader named, in recorded events of the leader strategy.
	Leader string `json:"leader,omitempty"`
}

// ClockValue is the value of the clock functions; which fields matter depends on the function.
type ClockValue struct {
	// Strategy is the --clock strategy that made the op.
	Strategy string `json:"strategy,omitempty"`
	// Leader is the node Cluster.Leader named, in recorded events of the bump-leader strategy.
	Leader string `json:"leader,omitempty"`
	// Deltas (clock-bump) are added to each node's current offset.
	Deltas map[string]Duration `json:"deltas,omitempty"`
	// Rates (clock-skew) are the clock rates to set; in recorded events, the rate each node now runs at.
	Rates map[string]float64 `json:"rates,omitempty"`
	// Nodes are the nodes of clock-strobe and clock-reset (none: every node).
	Nodes []string `json:"nodes,omitempty"`
	// Delta, Period and For (clock-strobe): flip the offset between Delta and 0 every Period, for For. Delta
	// alone (clock-bump with strategy bump-leader): the jump of the leader's clock.
	Delta  Duration `json:"delta,omitempty"`
	Period Duration `json:"period,omitempty"`
	For    Duration `json:"for,omitempty"`
	// OffsetsNS, in recorded events, is the offset in nanoseconds each node's clock now has.
	OffsetsNS map[string]int64 `json:"offsets_ns,omitempty"`
	// Flips, in recorded clock-strobe events, is how many times the clocks were set.
	Flips int `json:"flips,omitempty"`
}

// LinksValue is the value of start-loss and start-delay.
type LinksValue struct {
	// Links are the directions affected.
	Links []Link `json:"links"`
	// Percent (start-loss) is the share of packets dropped.
	Percent float64 `json:"percent,omitempty"`
	// Delay and Jitter (start-delay) are added to each packet.
	Delay  Duration `json:"delay,omitempty"`
	Jitter Duration `json:"jitter,omitempty"`
}
