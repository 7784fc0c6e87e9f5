package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/skeptic-dev/skeptic/targets/paxos/core"
	"github.com/skeptic-dev/skeptic/targets/paxos/kv"
)

// Headers of the HTTP API beyond shared/PROTOCOL.md.
const (
	// HeaderClient and HeaderSeq, when a client sends both, name its request's core.CommandID, so that a retry of
	// the same request is applied at most once.
	HeaderClient = "Skeptic-Client"
	HeaderSeq    = "Skeptic-Seq"
	// HeaderForwardedBy marks a request a node passed on to its leader; a node that receives it and does not
	// lead refuses it (definitely: nothing was proposed) instead of forwarding it again.
	HeaderForwardedBy = "Skeptic-Forwarded-By"
)

// maxBody bounds a request body.
const maxBody = 1 << 20

func (n *Node) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /kv/{key}", n.handleKV)
	mux.HandleFunc("PUT /kv/{key}", n.handleKV)
	mux.HandleFunc("POST /kv/{key}/cas", n.handleKV)
	mux.HandleFunc("GET /admin/status", n.handleStatus)
	mux.HandleFunc("POST /admin/clock", n.handleClock)
	mux.HandleFunc("/kv/{$}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "empty key: the path must be /kv/{key} with a non-empty key", "definite": true})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]any{
			"error":    fmt.Sprintf("no such endpoint: %s %s (want GET or PUT /kv/{key}, POST /kv/{key}/cas, GET /admin/status, POST /admin/clock)", r.Method, r.URL.Path),
			"definite": true,
		})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encode response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func badRequest(w http.ResponseWriter, format string, args ...any) {
	writeJSON(w, http.StatusBadRequest, map[string]any{"error": fmt.Sprintf(format, args...), "definite": true})
}

// decodeBody reads a JSON object with integer fields named want, all required.
func decodeBody(r *http.Request, want ...string) (map[string]int64, error) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("reading the body: %v", err)
	}
	if len(raw) > maxBody {
		return nil, fmt.Errorf("body is larger than %d bytes", maxBody)
	}
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return nil, fmt.Errorf("body is not a JSON object: %q", truncate(string(raw), 80))
	}
	out := map[string]int64{}
	for _, f := range want {
		v, ok := obj[f]
		if !ok {
			return nil, fmt.Errorf("body has no field %q", f)
		}
		i, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("field %q must be an integer (int64), got %s", f, truncate(string(v), 40))
		}
		out[f] = i
	}
	for f := range obj {
		if !contains(want, f) {
			return nil, fmt.Errorf("body has unknown field %q (want %s)", f, strings.Join(want, ", "))
		}
	}
	return out, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// handleKV serves the three client operations.
func (n *Node) handleKV(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if key == "" {
		badRequest(w, "empty key: the path must be /kv/{key} with a non-empty key")
		return
	}
	op := kv.Op{Key: key}
	switch {
	case r.Method == http.MethodGet:
		op.F = kv.FRead
	case r.Method == http.MethodPut:
		body, err := decodeBody(r, "value")
		if err != nil {
			badRequest(w, "PUT /kv/%s: %v", key, err)
			return
		}
		op.F, op.Value = kv.FWrite, body["value"]
	default:
		body, err := decodeBody(r, "from", "to")
		if err != nil {
			badRequest(w, "POST /kv/%s/cas: %v", key, err)
			return
		}
		op.F, op.From, op.To = kv.FCas, body["from"], body["to"]
	}
	req := newRequest(op)
	if c, s := r.Header.Get(HeaderClient), r.Header.Get(HeaderSeq); c != "" || s != "" {
		seq, err := strconv.ParseUint(s, 10, 64)
		if c == "" || err != nil {
			badRequest(w, "headers %s and %s must both be set, the second to an unsigned integer (got %q, %q)", HeaderClient, HeaderSeq, c, s)
			return
		}
		req.ID, req.HasID = core.CommandID{Client: c, Seq: seq}, true
	}
	timeout := n.cfg.RequestTimeout
	req.Deadline = n.clock.Mono() + timeout
	if !n.submit(req) {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": "node overloaded or stopping; nothing was proposed", "definite": true})
		return
	}
	timer := time.NewTimer(n.clock.RealUntil(req.Deadline))
	defer timer.Stop()
	var rep reply
	select {
	case rep = <-req.done:
	case <-timer.C:
		writeJSON(w, http.StatusGatewayTimeout, map[string]any{"error": fmt.Sprintf("no outcome within %s; outcome unknown", timeout), "definite": false})
		return
	case <-r.Context().Done():
		return // the client went away; the loop's sweep forgets the request
	}
	if !rep.notLeader {
		writeJSON(w, rep.status, rep.body)
		return
	}
	n.forward(w, r, req, rep.leader)
}

// forward passes a request this node could not take (it does not lead) to the leader and relays the answer.
// Nothing was proposed here, so every failure before the request reached the leader is definite; a failure
// after it was sent is unknown.
func (n *Node) forward(w http.ResponseWriter, r *http.Request, req *request, leader string) {
	notSent := func(why string) {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": why + "; nothing was proposed", "definite": true})
	}
	switch {
	case leader == "":
		notSent("no leader known")
		return
	case leader == n.cfg.ID:
		notSent("this node is becoming the leader and cannot take requests yet")
		return
	case r.Header.Get(HeaderForwardedBy) != "":
		notSent(fmt.Sprintf("forwarded by %s, but this node does not lead (it believes %s does)", r.Header.Get(HeaderForwardedBy), leader))
		return
	}
	base, ok := n.cfg.PeerClientURLs[leader]
	if !ok {
		notSent(fmt.Sprintf("the leader is %s, whose client URL this node does not know (--peer-client-urls)", leader))
		return
	}
	var body []byte
	switch req.Op.F {
	case kv.FWrite:
		body, _ = json.Marshal(map[string]int64{"value": req.Op.Value})
	case kv.FCas:
		body, _ = json.Marshal(map[string]int64{"from": req.Op.From, "to": req.Op.To})
	}
	u := strings.TrimRight(base, "/") + "/kv/" + url.PathEscape(req.Op.Key)
	if req.Op.F == kv.FCas {
		u += "/cas"
	}
	// The forward gets what is left of the request's own deadline, so a client sees an answer within it.
	ctx, cancel := context.WithTimeout(r.Context(), n.clock.RealUntil(req.Deadline))
	defer cancel()
	fr, err := http.NewRequestWithContext(ctx, r.Method, u, bytes.NewReader(body))
	if err != nil {
		notSent(fmt.Sprintf("forward to %s: %v", leader, err))
		return
	}
	fr.Header.Set("Content-Type", "application/json")
	fr.Header.Set(HeaderForwardedBy, n.cfg.ID)
	if req.HasID {
		fr.Header.Set(HeaderClient, req.ID.Client)
		fr.Header.Set(HeaderSeq, strconv.FormatUint(req.ID.Seq, 10))
	}
	resp, err := n.fwd.Do(fr)
	if err != nil {
		var de *dialError
		if errors.As(err, &de) {
			notSent(fmt.Sprintf("could not connect to the leader %s at %s: %v", leader, base, de.err))
			return
		}
		if req.Op.F == kv.FRead {
			notSent(fmt.Sprintf("read forwarded to the leader %s failed: %v", leader, err))
			return
		}
		writeJSON(w, http.StatusGatewayTimeout, map[string]any{"error": fmt.Sprintf("forwarded to the leader %s, then: %v; outcome unknown", leader, err), "definite": false})
		return
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		writeJSON(w, http.StatusGatewayTimeout, map[string]any{"error": fmt.Sprintf("reading the leader %s's answer: %v; outcome unknown", leader, err), "definite": false})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(resp.StatusCode)
	w.Write(rb)
}

// dialError marks a forwarding failure that happened while connecting, so nothing was sent.
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

func newForwardClient() *http.Client {
	d := &net.Dialer{Timeout: time.Second}
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, &dialError{err}
			}
			return c, nil
		},
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 128,
		IdleConnTimeout:     30 * time.Second,
	}}
}

func (n *Node) handleStatus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, n.Status())
}

// clockRequest is the body of POST /admin/clock.
type clockRequest struct {
	OffsetNs *int64   `json:"offset_ns"`
	Rate     *float64 `json:"rate"`
}

func (n *Node) handleClock(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		badRequest(w, "POST /admin/clock: reading the body: %v", err)
		return
	}
	var cr clockRequest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cr); err != nil {
		badRequest(w, `POST /admin/clock: body must be {"offset_ns": integer, "rate": number}: %v`, err)
		return
	}
	if cr.OffsetNs == nil || cr.Rate == nil {
		badRequest(w, `POST /admin/clock: body needs both "offset_ns" and "rate" (reset is {"offset_ns":0,"rate":1})`)
		return
	}
	if err := n.clock.Set(*cr.OffsetNs, *cr.Rate); err != nil {
		badRequest(w, "POST /admin/clock: %v", err)
		return
	}
	n.log.Printf("clock set: offset %s, rate %g", time.Duration(*cr.OffsetNs), *cr.Rate)
	writeJSON(w, http.StatusOK, map[string]any{})
}
