package httpkv

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
	"strings"
	"syscall"
	"time"

	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/targets"
)

// DefaultTimeout bounds each operation when no WithTimeout option is given (the caller's ctx may be shorter).
const DefaultTimeout = 5 * time.Second

// maxBody bounds how much of a response is read; the protocol's answers are tiny.
const maxBody = 1 << 20

// Option configures a Client.
type Option func(*options)

type options struct {
	timeout     time.Duration
	idle        int
	dialTimeout time.Duration
}

// WithTimeout bounds each operation to d (0: only the caller's ctx bounds it). An operation that times out is
// info.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithMaxIdleConns bounds the client's pool of idle keep-alive connections (default 2; 0 disables keep-alive).
func WithMaxIdleConns(n int) Option { return func(o *options) { o.idle = n } }

// WithDialTimeout bounds connecting to the node (default 2s). A dial that times out is info, since only a
// refused connection proves that nothing was sent.
func WithDialTimeout(d time.Duration) Option { return func(o *options) { o.dialTimeout = d } }

// Client is a targets.Client for one node. It is used by one worker at a time.
type Client struct {
	base    string
	hc      *http.Client
	tr      *http.Transport
	timeout time.Duration
}

var _ targets.Client = (*Client)(nil)

// New returns a client (a *Client) of the node at baseURL (such as http://127.0.0.1:40001), with its own
// transport.
func New(baseURL string, opts ...Option) targets.Client {
	o := options{timeout: DefaultTimeout, idle: 2, dialTimeout: 2 * time.Second}
	for _, f := range opts {
		f(&o)
	}
	tr := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: o.dialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          o.idle,
		MaxIdleConnsPerHost:   o.idle,
		DisableKeepAlives:     o.idle == 0,
		IdleConnTimeout:       30 * time.Second,
		DisableCompression:    true,
		ExpectContinueTimeout: 0,
	}
	return &Client{
		base:    strings.TrimRight(baseURL, "/"),
		tr:      tr,
		timeout: o.timeout,
		hc: &http.Client{
			Transport: tr,
			// A redirect is not part of the protocol: return it as it is, an unexpected status.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// Close releases the client's idle connections.
func (c *Client) Close() error {
	c.tr.CloseIdleConnections()
	return nil
}

// Do performs op and classifies its outcome as PROTOCOL.md says. It never blocks past ctx's deadline or the
// client's timeout.
func (c *Client) Do(ctx context.Context, op targets.Op) targets.Outcome {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	req, err := c.request(ctx, op)
	if err != nil {
		// Nothing was sent: the operation cannot have taken effect.
		return targets.Outcome{Type: history.Fail, Error: err.Error()}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return classifyTransportError(ctx, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return info("reading the %d response: %v", resp.StatusCode, transportReason(ctx, err))
	}
	if len(body) > maxBody {
		return info("the %d response is longer than %d bytes", resp.StatusCode, maxBody)
	}
	return classifyResponse(op, resp.StatusCode, body)
}

func (c *Client) request(ctx context.Context, op targets.Op) (*http.Request, error) {
	if op.Key == "" {
		return nil, errors.New("the operation has an empty key")
	}
	u := c.base + "/kv/" + url.PathEscape(op.Key)
	var (
		method string
		body   []byte
	)
	switch op.F {
	case targets.FRead:
		method = http.MethodGet
	case targets.FWrite:
		method = http.MethodPut
		body = fmt.Appendf(nil, `{"value":%d}`, op.Value)
	case targets.FCAS:
		method = http.MethodPost
		u += "/cas"
		body = fmt.Appendf(nil, `{"from":%d,"to":%d}`, op.From, op.To)
	default:
		return nil, fmt.Errorf("unknown operation %q", op.F)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("building the request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

func info(format string, args ...any) targets.Outcome {
	return targets.Outcome{Type: history.Info, Error: fmt.Sprintf(format, args...)}
}

// classifyTransportError classifies an error from http.Client.Do: only a refused connection proves that the
// request was never sent.
func classifyTransportError(ctx context.Context, err error) targets.Outcome {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" && errors.Is(err, syscall.ECONNREFUSED) {
		return targets.Outcome{Type: history.Fail, Error: "connection refused"}
	}
	return info("%s", transportReason(ctx, err))
}

// transportReason says why a request or response was cut short, naming a timeout as such.
func transportReason(ctx context.Context, err error) string {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return "timed out: " + err.Error()
	case ctx.Err() != nil:
		return "canceled: " + err.Error()
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset: " + err.Error()
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return "connection closed early: " + err.Error()
	}
	return err.Error()
}

// nullableInt decodes a JSON integer or null, keeping track of whether the field was present.
type nullableInt struct {
	present bool
	v       *int64
}

func (n *nullableInt) UnmarshalJSON(b []byte) error {
	n.present = true
	if string(b) == "null" {
		n.v = nil
		return nil
	}
	var v int64
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("%s is not an integer or null", b)
	}
	n.v = &v
	return nil
}

type answer struct {
	Value    nullableInt `json:"value"`
	Error    *string     `json:"error"`
	Definite bool        `json:"definite"`
}

// decodeAnswer reads a protocol answer strictly: one JSON object whose fields are matched by their exact names
// ("value", "error", "definite"; others are ignored), each at most once. encoding/json alone would also take
// "Definite" or "DEFINITE" for "definite", and let the last of two "definite" fields win, so an answer that
// does not say exactly "definite": true could be taken for a definite failure.
func decodeAnswer(body []byte) (answer, error) {
	var a answer
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return a, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return a, errors.New("not a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return a, err
		}
		name, ok := tok.(string)
		if !ok {
			return a, fmt.Errorf("object key %v is not a string", tok)
		}
		if seen[name] {
			return a, fmt.Errorf("field %q appears twice", name)
		}
		seen[name] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return a, err
		}
		var ferr error
		switch name {
		case "value":
			ferr = a.Value.UnmarshalJSON(raw)
		case "error":
			ferr = json.Unmarshal(raw, &a.Error)
		case "definite":
			ferr = json.Unmarshal(raw, &a.Definite)
		}
		if ferr != nil {
			return a, fmt.Errorf("field %q: %v", name, ferr)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return a, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return a, errors.New("trailing data after the JSON object")
	}
	return a, nil
}

// snippet quotes a body for an error message, cut short.
func snippet(body []byte) string {
	const n = 120
	s := strings.TrimSpace(string(body))
	if len(s) > n {
		s = s[:n] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// classifyResponse applies PROTOCOL.md's outcomes table to a whole response.
func classifyResponse(op targets.Op, status int, body []byte) targets.Outcome {
	a, err := decodeAnswer(body)
	switch {
	case status >= 200 && status <= 299:
		if err != nil {
			return info("malformed %d response to %s: %v: %s", status, op.F, err, snippet(body))
		}
		if op.F != targets.FRead {
			return targets.Outcome{Type: history.Ok}
		}
		if !a.Value.present {
			return info("malformed %d response to read: no \"value\": %s", status, snippet(body))
		}
		return targets.Outcome{Type: history.Ok, Value: a.Value.v}
	case status >= 400 && status <= 599:
		if err != nil {
			return info("status %d with a malformed body: %v: %s", status, err, snippet(body))
		}
		if status == http.StatusConflict && a.Error != nil && *a.Error == history.ErrCASMismatch {
			if op.F != targets.FCAS {
				return info("cas-mismatch answer to a %s", op.F)
			}
			if !a.Value.present {
				return info("cas-mismatch answer without \"value\": %s", snippet(body))
			}
			return targets.Outcome{Type: history.Fail, Error: history.ErrCASMismatch, Value: a.Value.v}
		}
		if a.Definite {
			msg := "definite failure"
			if a.Error != nil && *a.Error != "" {
				msg = *a.Error
			}
			return targets.Outcome{Type: history.Fail, Error: fmt.Sprintf("status %d: %s", status, msg)}
		}
		return info("status %d without \"definite\": true: %s", status, snippet(body))
	}
	return info("unexpected status %d: %s", status, snippet(body))
}
