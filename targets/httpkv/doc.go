// Package httpkv is the client for shared/PROTOCOL.md, the HTTP key-value protocol every HTTP target speaks.
//
// Data flows one way through a Client:
//
//	targets.Op --request--> node --response (or error)--> classify --> targets.Outcome{ok|fail|info}
//
// The classification is the soundness of the whole check, and follows PROTOCOL.md's outcomes table exactly:
//
//	2xx with a well-formed body                      ok (a read carries its value or null)
//	409 {"error": "cas-mismatch", "value": V} (cas)  fail, Error "cas-mismatch", Value V (an observation)
//	4xx/5xx with "definite": true                    fail, Error the node's error
//	connection refused while dialing                 fail: nothing was sent
//	anything else: another status, a malformed
//	body, a timeout, a reset after sending           info: it may or may not take effect
//
// A write whose response is lost is therefore info, never fail. Each Client owns its http.Transport, with a
// small bounded idle pool, and follows no redirects (a redirect is an unexpected status, so info).
//
// Status and SetClock call the optional admin endpoints; the harness and the nemesis use them.
package httpkv
