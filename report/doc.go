// Package report turns a run folder into a report that people and CI systems can read.
//
// Data flows one way through it:
//
//	run folder (history.jsonl, config.json) + checker.Result (or a fresh check of the history)
//	    --nemesisTimeline--> fault intervals and the nemesis's steps
//	    --clientOps--------> counts, availability, latency and throughput (gonum/plot, SVG)
//	    --explain----------> for each failed key, the operation Porcupine could not linearize, in words
//	    --visualize--------> Porcupine's visualization of the key, fault intervals annotated, cut to a window
//	  --> report.html (one self-contained file), report.json (Summary), <key>.html
//
// Write is the entry point: the harness calls it at the end of a run, and `skeptic report DIR` on a stored run.
// JUnit writes JUnit XML from the summaries of several runs, and Handler serves a store of run folders (`skeptic
// serve`): a list of runs, newest first, and each run's files, never a file outside the store.
//
// The report imports history and checker only (and workloads, the checker's model); it parses the few fields
// of config.json it shows into its own struct, so the harness stays free to grow the file.
package report
