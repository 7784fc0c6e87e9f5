package httpkv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"
)

// StatusInfo is a node's answer to GET /admin/status.
type StatusInfo struct {
	// ID is the node's id.
	ID string `json:"id"`
	// Leader is the node this node believes leads, or "".
	Leader string `json:"leader"`
	// Extra holds the answer's other fields, as the node wrote them.
	Extra map[string]json.RawMessage `json:"-"`
}

// Status asks the node at baseURL for its status (the "status" capability). Errors say what went wrong: the
// request, a non-200 status, or a malformed answer.
func Status(ctx context.Context, baseURL string) (StatusInfo, error) {
	var st StatusInfo
	body, err := admin(ctx, http.MethodGet, baseURL, "/admin/status", nil)
	if err != nil {
		return st, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return st, fmt.Errorf("GET %s/admin/status: answer is not a JSON object: %s", trim(baseURL), snippet(body))
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"id", &st.ID}, {"leader", &st.Leader}} {
		name, dst := f.name, f.dst
		raw, ok := fields[name]
		if !ok {
			return st, fmt.Errorf("GET %s/admin/status: answer has no %q: %s", trim(baseURL), name, snippet(body))
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return st, fmt.Errorf("GET %s/admin/status: %q is not a string: %s", trim(baseURL), name, raw)
		}
		delete(fields, name)
	}
	st.Extra = fields
	return st, nil
}

// SetClock skews the wall clock of the node at baseURL by offset from the real one and makes its clocks run
// rate times as fast as real time (the "clock" capability). SetClock(ctx, url, 0, 1) resets it. rate must be
// positive and finite.
func SetClock(ctx context.Context, baseURL string, offset time.Duration, rate float64) error {
	if math.IsNaN(rate) || math.IsInf(rate, 0) || rate <= 0 {
		return fmt.Errorf("clock rate must be positive and finite, got %v", rate)
	}
	body, err := json.Marshal(map[string]any{"offset_ns": int64(offset), "rate": rate})
	if err != nil {
		return err
	}
	_, err = admin(ctx, http.MethodPost, baseURL, "/admin/clock", body)
	return err
}

func trim(baseURL string) string { return strings.TrimRight(baseURL, "/") }

// admin performs one admin request on a fresh connection, and returns the body of a 200 answer.
func admin(ctx context.Context, method, baseURL, path string, body []byte) ([]byte, error) {
	where := method + " " + trim(baseURL) + path
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, trim(baseURL)+path, rd)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("%s: reading the answer: %w", where, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: status %d: %s", where, resp.StatusCode, snippet(b))
	}
	return b, nil
}
