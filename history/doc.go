// Package history is skeptic's shared vocabulary: the Event that every part of a run writes, and the JSONL file
// that holds them.
//
// Data flows one way through it. Workers and the nemesis call Recorder.Record as things happen; each event is
// stamped against the run's single monotonic base, numbered, and written to history.jsonl with one write call,
// so a harness killed at any instant leaves a file that is valid up to its last line. The checker and the
// reports read the file back with Read or Scan. Importers for Jepsen's EDN and log formats turn foreign
// histories into the same events; ReadFileFormat reads any of the three, telling them apart by content
// (DetectFormat) unless told.
//
// The package imports nothing else of skeptic's.
package history
