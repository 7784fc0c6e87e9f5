// Package netproxy gives the local runtime network faults without touching the host's network: every node
// reaches every other through a TCP proxy of its own, one listener per ordered pair, and the proxies decide
// what gets through.
//
// A node a is told (through its Peers argument) to dial Mesh.Addr(a, b) to reach b. The proxy for a->b
// forwards bytes a sends toward b on link a->b, and the replies b sends back on link b->a, so each direction of
// each connection obeys the link it travels:
//
//	cut (Partition):  every connection with a direction on the link is closed when the cut begins and again when
//	                  it ends; while it lasts, bytes on the link are discarded, and a connection whose own
//	                  direction is cut is accepted but never reaches its target (a blackhole: the dialer's
//	                  writes succeed and nothing answers, as behind a firewall that drops packets)
//	loss (Loss):      each chunk (what one read returns: a message or a few) is, with probability p, dropped
//	                  and the connection reset. A TCP stream cannot lose bytes in its middle without corrupting
//	                  its framing, so lost chunks take the rest of their connection with them; in-flight messages
//	                  are lost and the sender must reconnect, much as after a real loss-induced timeout.
//	delay (Delay):    each chunk is held for d plus a random share of jitter, keeping the stream's order.
//
// The harness's own clients connect to the nodes' client addresses directly and are never affected. Randomness
// (loss draws, jitter) comes from a source seeded with SetSeed; timing makes a run's exact drops vary anyway.
package netproxy
