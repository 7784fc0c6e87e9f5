// Package nemesis injects faults into a cluster under test and writes them into the same history as the
// operations: network partitions, packet loss and delay, killed and paused processes, and skewed clocks.
//
// Data flows in three steps, and only the last one touches the cluster:
//
//	flags -> ParseOptions -> Options ----------------------+
//	                                                        v
//	seed, nodes, duration --------------------------> Generate -> Schedule (pure; recorded in config.json)
//	--nemesis-schedule FILE ---------------------> LoadSchedule -> Schedule (a replay)
//	Schedule -> New(Env).Run(ctx, schedule) -> Net / Proc / Clock, and history events through Env.Record
//	          -> HealAll(ctx): heal, resume, restart, reset clocks (at the end, on error, panic and SIGINT)
//
// Before the run starts, the harness checks Options.Needs (or Schedule.Needs) against the target's
// capabilities and Schedule.Preflight against the runtime's Net, and refuses the run (exit 254) with the reason.
//
// Each fault kind is one Fault value, in its own file (partition.go, kill.go, pause.go, clock.go, loss.go,
// delay.go): it fills and validates its options, draws its ops from the seed, checks an op of its kind, says what
// it needs from the target, and applies its ops. kinds.go holds the interface and the registry, which the rest
// iterates: options.go (Flags and Options), generate.go (Generate), ops.go (the Op and Schedule vocabulary),
// parse.go (LoadSchedule, ParseSchedule), validate.go (Schedule.Validate), preflight.go (Needs, Preflight), run.go
// (Run), heal.go (HealAll) and describe.go (Describe). Validation errors are *field.Error (internal/field), named
// by the JSON field of Options ("loss_percent") or the op's path ("schedule[3].value.nodes"); mapping them to
// command-line flags is the caller's job.
//
// The nemesis acts only through the small interfaces of runtime.go (Net, Proc, Clock, Cluster), which
// harness/docker and harness/local implement, so it never knows which runtime it acts on. Its subpackages are
// the network fault implementations: nft (nftables rules inside each container's namespace) and netproxy (a
// TCP proxy between local processes).
//
// A schedule is a pure function of (seed, nodes, duration, options): quiet and faulty periods of
// --nemesis-interval alternate, and each faulty period draws one fault from the enabled kinds with a
// *rand.Rand of the run's seed. Only the leader, for the leader strategies, is chosen while running; Run
// records it, like every grudge, node list and clock offset, in the value of the op's events. As in Jepsen,
// each op is recorded as two events of type info from process "nemesis": the op as planned, then what was done.
package nemesis
