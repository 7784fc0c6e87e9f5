package httpkv

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/targets"
)

func i64(v int64) *int64 { return &v }

// serve starts a test server answering every request with status and body.
func serve(t *testing.T, status int, body string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(s.Close)
	return s
}

func do(t *testing.T, url string, op targets.Op, opts ...Option) targets.Outcome {
	t.Helper()
	c := New(url, opts...)
	t.Cleanup(func() { _ = c.Close() })
	return c.Do(context.Background(), op)
}

var (
	read  = targets.Op{F: targets.FRead, Key: "k1"}
	write = targets.Op{F: targets.FWrite, Key: "k1", Value: 7}
	cas   = targets.Op{F: targets.FCAS, Key: "k1", From: 7, To: 8}
)

func TestRequests(t *testing.T) {
	type seen struct{ method, path, body string }
	var got seen
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = seen{r.Method, r.URL.EscapedPath(), string(b)}
		_, _ = io.WriteString(w, `{"value": 3}`)
	}))
	defer s.Close()
	c := New(s.URL + "/")
	defer c.Close()
	ctx := context.Background()

	require.Equal(t, targets.Outcome{Type: history.Ok, Value: i64(3)}, c.Do(ctx, targets.Op{F: targets.FRead, Key: "a b/c"}))
	require.Equal(t, seen{"GET", "/kv/a%20b%2Fc", ""}, got)

	require.Equal(t, targets.Outcome{Type: history.Ok}, c.Do(ctx, write))
	require.Equal(t, "PUT", got.method)
	require.Equal(t, "/kv/k1", got.path)
	require.JSONEq(t, `{"value": 7}`, got.body)

	require.Equal(t, targets.Outcome{Type: history.Ok}, c.Do(ctx, cas))
	require.Equal(t, "POST", got.method)
	require.Equal(t, "/kv/k1/cas", got.path)
	require.JSONEq(t, `{"from": 7, "to": 8}`, got.body)

	// Bad operations are refused before anything is sent.
	got = seen{}
	out := c.Do(ctx, targets.Op{F: "append", Key: "k"})
	require.Equal(t, history.Fail, out.Type)
	require.Contains(t, out.Error, `unknown operation "append"`)
	out = c.Do(ctx, targets.Op{F: targets.FRead})
	require.Equal(t, history.Fail, out.Type)
	require.Contains(t, out.Error, "empty key")
	require.Equal(t, seen{}, got)
}

func TestClassification(t *testing.T) {
	for _, c := range []struct {
		name   string
		op     targets.Op
		status int
		body   string
		want   targets.Outcome
		errHas string // for info and fail: part of the error
	}{
		{"read value", read, 200, `{"value": 7}`, targets.Outcome{Type: history.Ok, Value: i64(7)}, ""},
		{"read null", read, 200, `{"value": null}`, targets.Outcome{Type: history.Ok}, ""},
		{"read negative", read, 200, `{"value": -9223372036854775808}`, targets.Outcome{Type: history.Ok, Value: i64(-1 << 63)}, ""},
		{"read 204-ish 2xx", read, 203, `{"value": 1}`, targets.Outcome{Type: history.Ok, Value: i64(1)}, ""},
		{"write ok", write, 200, `{}`, targets.Outcome{Type: history.Ok}, ""},
		{"cas ok", cas, 200, "{}\n", targets.Outcome{Type: history.Ok}, ""},
		{"cas mismatch", cas, 409, `{"error": "cas-mismatch", "value": 3}`, targets.Outcome{Type: history.Fail, Error: "cas-mismatch", Value: i64(3)}, ""},
		{"cas mismatch null", cas, 409, `{"error": "cas-mismatch", "value": null}`, targets.Outcome{Type: history.Fail, Error: "cas-mismatch"}, ""},
		{"definite 503", write, 503, `{"error": "no leader", "definite": true}`, targets.Outcome{Type: history.Fail, Error: "status 503: no leader"}, ""},
		{"definite 400", cas, 400, `{"error": "bad", "definite": true}`, targets.Outcome{Type: history.Fail, Error: "status 400: bad"}, ""},
		{"definite without error", write, 500, `{"definite": true}`, targets.Outcome{Type: history.Fail, Error: "status 500: definite failure"}, ""},
		{"other fields ignored", read, 200, `{"node": "n2", "value": 4, "x": {"value": 9}}`, targets.Outcome{Type: history.Ok, Value: i64(4)}, ""},

		// Everything else is unknown.
		{"read without value", read, 200, `{}`, targets.Outcome{Type: history.Info}, `no "value"`},
		{"read string value", read, 200, `{"value": "7"}`, targets.Outcome{Type: history.Info}, "not an integer"},
		{"read float value", read, 200, `{"value": 7.5}`, targets.Outcome{Type: history.Info}, "not an integer"},
		{"write junk", write, 200, `<html>ok</html>`, targets.Outcome{Type: history.Info}, "malformed 200 response to write"},
		{"write empty body", write, 200, ``, targets.Outcome{Type: history.Info}, "malformed"},
		{"write null body", write, 200, `null`, targets.Outcome{Type: history.Info}, "not a JSON object"},
		{"write two objects", write, 200, `{} {}`, targets.Outcome{Type: history.Info}, "trailing data"},
		{"503 not definite", write, 503, `{"error": "timeout"}`, targets.Outcome{Type: history.Info}, `status 503 without "definite": true`},
		{"503 definite false", cas, 503, `{"error": "x", "definite": false}`, targets.Outcome{Type: history.Info}, "status 503"},
		{"500 junk", write, 500, `internal error`, targets.Outcome{Type: history.Info}, "status 500 with a malformed body"},
		{"redirect", write, 307, ``, targets.Outcome{Type: history.Info}, "unexpected status 307"},
		{"teapot 1xx-less oddity", write, 299 + 1, `{}`, targets.Outcome{Type: history.Info}, "unexpected status 300"},
		{"mismatch to a write", write, 409, `{"error": "cas-mismatch", "value": 3}`, targets.Outcome{Type: history.Info}, "cas-mismatch answer to a write"},
		{"mismatch without value", cas, 409, `{"error": "cas-mismatch"}`, targets.Outcome{Type: history.Info}, `without "value"`},
		{"409 other", cas, 409, `{"error": "conflict"}`, targets.Outcome{Type: history.Info}, "status 409"},

		// Only the exact field names count, each once: encoding/json alone matches names case-insensitively and
		// lets a repeated field's last value win.
		{"Definite capitalized", write, 503, `{"error": "x", "Definite": true}`, targets.Outcome{Type: history.Info}, `without "definite": true`},
		{"DEFINITE", cas, 500, `{"DEFINITE": true}`, targets.Outcome{Type: history.Info}, `without "definite": true`},
		{"definite twice", write, 503, `{"definite": false, "definite": true}`, targets.Outcome{Type: history.Info}, `"definite" appears twice`},
		{"Error cas-mismatch", cas, 409, `{"Error": "cas-mismatch", "value": 3}`, targets.Outcome{Type: history.Info}, "status 409"},
		{"read Value", read, 200, `{"Value": 7}`, targets.Outcome{Type: history.Info}, `no "value"`},
		{"read value twice", read, 200, `{"value": null, "value": 7}`, targets.Outcome{Type: history.Info}, `"value" appears twice`},
		{"mismatch value twice", cas, 409, `{"error": "cas-mismatch", "value": 3, "value": 4}`, targets.Outcome{Type: history.Info}, "appears twice"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := serve(t, c.status, c.body)
			got := do(t, s.URL, c.op)
			if c.errHas != "" {
				require.Equal(t, c.want.Type, got.Type, "outcome %+v", got)
				require.Contains(t, got.Error, c.errHas)
				require.Nil(t, got.Value)
				return
			}
			require.Equal(t, c.want, got)
		})
	}
}

// hijack starts a server whose handler takes over the raw connection and runs fn on it.
func hijack(t *testing.T, fn func(conn net.Conn, rw *bufio.ReadWriter)) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		conn, rw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		fn(conn, rw)
	}))
	t.Cleanup(s.Close)
	return s
}

func TestLostResponses(t *testing.T) {
	t.Run("closed before answering", func(t *testing.T) {
		s := hijack(t, func(conn net.Conn, _ *bufio.ReadWriter) { conn.Close() })
		for _, op := range []targets.Op{read, write, cas} {
			got := do(t, s.URL, op)
			require.Equal(t, history.Info, got.Type, "%s: a lost response must be info: %+v", op.F, got)
			require.NotEmpty(t, got.Error)
		}
	})
	t.Run("closed mid-body", func(t *testing.T) {
		s := hijack(t, func(conn net.Conn, rw *bufio.ReadWriter) {
			_, _ = rw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 40\r\nContent-Type: application/json\r\n\r\n{\"val")
			_ = rw.Flush()
			conn.Close()
		})
		got := do(t, s.URL, read)
		require.Equal(t, history.Info, got.Type)
		require.Contains(t, got.Error, "reading the 200 response")
		got = do(t, s.URL, write)
		require.Equal(t, history.Info, got.Type)
	})
	t.Run("closed mid-headers", func(t *testing.T) {
		s := hijack(t, func(conn net.Conn, rw *bufio.ReadWriter) {
			_, _ = rw.WriteString("HTTP/1.1 200 OK\r\nContent-Le")
			_ = rw.Flush()
			conn.Close()
		})
		got := do(t, s.URL, cas)
		require.Equal(t, history.Info, got.Type)
	})
	t.Run("reset", func(t *testing.T) {
		s := hijack(t, func(conn net.Conn, _ *bufio.ReadWriter) {
			_ = conn.(*net.TCPConn).SetLinger(0) // close with RST
			conn.Close()
		})
		got := do(t, s.URL, write)
		require.Equal(t, history.Info, got.Type)
		require.NotEmpty(t, got.Error)
	})
	t.Run("junk instead of HTTP", func(t *testing.T) {
		s := hijack(t, func(conn net.Conn, rw *bufio.ReadWriter) {
			_, _ = rw.WriteString("SSH-2.0-OpenSSH_9.6\r\n\r\n")
			_ = rw.Flush()
			conn.Close()
		})
		got := do(t, s.URL, write)
		require.Equal(t, history.Info, got.Type)
	})
}

func TestTimeoutIsInfo(t *testing.T) {
	release := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer s.Close()
	defer close(release)

	start := time.Now()
	got := do(t, s.URL, write, WithTimeout(100*time.Millisecond))
	elapsed := time.Since(start)
	require.Equal(t, history.Info, got.Type)
	require.Contains(t, got.Error, "timed out")
	require.Less(t, elapsed, 2*time.Second)
	require.GreaterOrEqual(t, elapsed, 100*time.Millisecond)

	// The caller's deadline bounds it too.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	c := New(s.URL, WithTimeout(0))
	defer c.Close()
	got = c.Do(ctx, cas)
	require.Equal(t, history.Info, got.Type)
	require.Contains(t, got.Error, "timed out")

	// A canceled caller leaves the outcome unknown too.
	ctx, cancel = context.WithCancel(context.Background())
	go func() { time.Sleep(30 * time.Millisecond); cancel() }()
	got = c.Do(ctx, write)
	require.Equal(t, history.Info, got.Type)
	require.Contains(t, got.Error, "canceled")
}

func TestSlowBodyTimesOut(t *testing.T) {
	// Headers arrive, the body never finishes: still unknown.
	s := hijack(t, func(conn net.Conn, rw *bufio.ReadWriter) {
		_, _ = rw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n{")
		_ = rw.Flush()
		time.Sleep(time.Second)
		conn.Close()
	})
	got := do(t, s.URL, read, WithTimeout(100*time.Millisecond))
	require.Equal(t, history.Info, got.Type)
	require.Contains(t, got.Error, "timed out")
}

func TestConnectionRefusedIsFail(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	for _, op := range []targets.Op{read, write, cas} {
		got := do(t, "http://"+addr, op)
		require.Equal(t, targets.Outcome{Type: history.Fail, Error: "connection refused"}, got)
	}
}

func TestKeepAliveOwnPool(t *testing.T) {
	var conns atomic.Int32
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"value": null}`)
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	s.Start()
	defer s.Close()
	a, b := New(s.URL), New(s.URL)
	defer a.Close()
	defer b.Close()
	for range 10 {
		require.Equal(t, history.Ok, a.Do(context.Background(), read).Type)
	}
	require.EqualValues(t, 1, conns.Load(), "one client reuses its connection")
	require.Equal(t, history.Ok, b.Do(context.Background(), read).Type)
	require.EqualValues(t, 2, conns.Load(), "another client has its own pool")

	c := New(s.URL, WithMaxIdleConns(0))
	defer c.Close()
	for range 3 {
		require.Equal(t, history.Ok, c.Do(context.Background(), read).Type)
	}
	require.EqualValues(t, 5, conns.Load(), "without keep-alive each request dials")
}

func TestStatus(t *testing.T) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/admin/status" {
			w.WriteHeader(404)
			return
		}
		_, _ = io.WriteString(w, `{"id": "n1", "leader": "n2", "term": 4}`)
	}))
	defer s.Close()
	st, err := Status(context.Background(), s.URL)
	require.NoError(t, err)
	require.Equal(t, "n1", st.ID)
	require.Equal(t, "n2", st.Leader)
	require.Equal(t, json.RawMessage("4"), st.Extra["term"])

	for _, c := range []struct {
		status     int
		body, want string
	}{
		{200, `{"id": "n1"}`, `answer has no "leader"`},
		{200, `{"id": 1, "leader": ""}`, `"id" is not a string`},
		{200, `[]`, "not a JSON object"},
		{404, `nope`, "status 404"},
	} {
		bad := serve(t, c.status, c.body)
		_, err := Status(context.Background(), bad.URL)
		require.ErrorContains(t, err, c.want)
		require.ErrorContains(t, err, "GET "+bad.URL+"/admin/status")
	}
	_, err = Status(context.Background(), "http://127.0.0.1:1")
	require.ErrorContains(t, err, "connection refused")
}

func TestSetClock(t *testing.T) {
	var got map[string]any
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/admin/clock" {
			w.WriteHeader(404)
			return
		}
		got = nil
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			w.WriteHeader(400)
			return
		}
		_, _ = io.WriteString(w, `{}`)
	}))
	defer s.Close()
	require.NoError(t, SetClock(context.Background(), s.URL, -2*time.Second, 1.5))
	require.Equal(t, map[string]any{"offset_ns": float64(-2e9), "rate": 1.5}, got)
	require.NoError(t, SetClock(context.Background(), s.URL, 0, 1))
	require.Equal(t, map[string]any{"offset_ns": float64(0), "rate": float64(1)}, got)

	require.ErrorContains(t, SetClock(context.Background(), s.URL, 0, 0), "rate must be positive")
	bad := serve(t, 501, `{"error": "no clock"}`)
	require.ErrorContains(t, SetClock(context.Background(), bad.URL, 0, 1), "status 501")
}

// TestNoSilentRetryOnADeadKeepAlive: a keep-alive connection that dies after a PUT or POST was written leaves
// the outcome unknown, and the request is not sent again behind the caller's back (Go's transport retries
// only GET-like requests, or requests of which nothing was written).
func TestNoSilentRetryOnADeadKeepAlive(t *testing.T) {
	for _, op := range []targets.Op{write, cas} {
		t.Run(op.F, func(t *testing.T) {
			var received atomic.Int32
			s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.ReadAll(r.Body)
				if received.Add(1) == 1 {
					_, _ = io.WriteString(w, `{}`) // the first request leaves an idle keep-alive connection
					return
				}
				conn, _, err := w.(http.Hijacker).Hijack()
				if err != nil {
					panic(err)
				}
				conn.Close() // the request arrived; the answer never leaves
			}))
			defer s.Close()
			c := New(s.URL)
			defer c.Close()
			require.Equal(t, history.Ok, c.Do(context.Background(), op).Type)
			got := c.Do(context.Background(), op)
			require.Equal(t, history.Info, got.Type, "%+v", got)
			require.EqualValues(t, 2, received.Load(), "the %s was sent again after its connection died", op.F)
		})
	}
}
