// Package wal is the Paxos node's durable log: an append-only file of core.Records in its data directory.
//
// Data flow:
//
//	Open(dir) --> recovered []core.Record --> core.New(cfg, recovered)
//	Ready.Records --> Log.Append --> Log.Sync (fsync) --> only then may the driver send Ready.Messages
//	core.PersistentState() --> Log.Rewrite (new file, fsync, rename over, fsync dir) when Size() grows too big
//
// Each record is framed as
//
//	[4 bytes little-endian payload length][4 bytes little-endian CRC32C (Castagnoli) of the payload][payload]
//
// where the payload is the record's JSON. A crash can tear the last frame (short write) or leave garbage after the
// last good frame; Open cuts the file back to the end of the last frame whose length and checksum are good and
// reports how many bytes it cut, so a torn tail never stops a node from starting. A torn frame was never fsynced
// in full, so nothing that depended on it was ever sent or acknowledged.
package wal
