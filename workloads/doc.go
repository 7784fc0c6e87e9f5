// Package workloads generates the operations a test performs and holds the model the resulting history is
// checked against.
//
// Data flows one way through it:
//
//	Config --New--> Workload --Worker(i)--> WorkerGen --Next()--> targets.Op --> client --> targets.Outcome
//	                                              ^                                                |
//	                                              +----------------- Observe(op, outcome) ---------+
//
// Each worker owns one WorkerGen. Its stream of operations is a pure function of (Config.Seed, worker index)
// and of the outcomes fed back through Observe, so a run can be replayed: the same seed and the same outcomes
// give the same operations. Observe lets a worker's cas use a value it recently saw on that key, which makes
// cas operations succeed often enough to be interesting.
//
// Two workloads exist:
//   - "register": one register, key "r", shared by every worker; read, write and cas.
//   - "kv": many independent registers. Workers are split into groups of Config.WorkersPerKey; a group works
//     on one key at a time, so the workers of a group overlap on the same key concurrently, and each worker
//     moves to its group's next key after its share of Config.OpsPerKey operations (Jepsen's
//     independent/concurrent-generator and :ops-per-key). Short per-key histories keep the check tractable.
//
// Written values are unique per key: a worker writes (n*Workers + i + 1) for its n-th value on a key, so two
// workers never write the same value and a read names the write it saw.
//
// The model (RegisterModel) is the sequential specification of one register. The checker partitions a
// history by key and checks each key's operations against it with Porcupine. TypedModel wraps Porcupine's
// interface{}-based Model with type parameters so that the assertions live in one place.
package workloads
