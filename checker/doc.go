// Package checker decides whether a history is linearizable, key by key, with Porcupine.
//
// Data flows one way through it:
//
//	[]history.Event --Operations--> per-key []porcupine.Operation --worker pool, one Porcupine check a key-->
//	    KeyResult{verdict, ops, duration} --> Result{verdict, keys, visualizations of the failed keys}
//
// Converting events into operations (Operations) pairs each completion with its process's open invocation and
// applies the semantics of shared/PROTOCOL.md:
//
//	ok                      the operation, over [invoke time, completion time]
//	info write or cas       kept, with an unknown outcome and a return time of +infinity: it may apply any time
//	                        after its invocation, or never
//	info or fail read       dropped: a read changes nothing
//	fail cas-mismatch       an observation over [invoke, completion]: the register was not from (and, when the
//	                        event carries a value, it was that value); with Options.FailCAS never-happened,
//	                        dropped as any other fail
//	any other fail          dropped: it never took effect
//	invoke, no completion   as info (the run was cut short)
//	nemesis events          ignored
//
// Before Porcupine sees a key, Check leaves out the unknown writes and cas whose values nothing on the key saw
// (no read returned it, no cas went from it, no cas-mismatch saw it): such an operation can always be taken as
// never applied, so leaving it out changes no verdict (pruneUnobserved says why), while dozens of them, as a
// killed leader leaves, make Porcupine's search exponential. KeyResult.Pruned and Stats.Pruned count them.
//
// A malformed history (a completion with no invocation, two invocations open on one process, a process used
// again after its info, an unknown function or a value of the wrong shape) is an error naming the event's
// index and what was wrong; it is never checked.
//
// Check is a pure function of the events and Options: it writes nothing. Each key is checked separately (the
// keys of a register store are independent, so the history is linearizable if and only if every key's is),
// in parallel on Options.Workers goroutines, against workloads.RegisterModel. Options.Timeout bounds the whole
// check: a key whose check has not ended by then is Unknown, and so is the verdict, unless some key is
// Illegal. Result.WriteVisualizations writes Porcupine's HTML visualization of each failed key.
//
// Reading and checking overlap. CheckFile converts a history.jsonl as it is read (history.ScanFileFormat
// decodes lines on a goroutine of its own), holding operations, not events. A key with no open invocation and no
// event for a while (4096 events at first) is checked on the side while the rest is read: in a kv history most
// keys are done long before the file ends. Only a valid check of all of a key's operations counts; a key that
// sees more events later is checked again, and the quiet stretch doubles, so that a workload that comes back
// to its keys is not checked over and over. The result is the same as checking every key at the end.
package checker
