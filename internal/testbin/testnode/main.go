// Command testnode is the trivial node the runtime tests run in place of a real target: it serves its client
// address over HTTP, keeps one value in its data dir, and answers and dials peers over TCP, so that a test can
// see a node come up, lose or keep its data across a kill, freeze, and reach (or not reach) its peers.
//
//	GET  /            "ok <id> <value>"
//	POST /put?v=X     stores X in <data>/value (fsynced)
//	GET  /dial?to=ID  dials Peers[ID], and returns the peer's greeting line
//	GET  /env?k=NAME  returns the environment variable NAME
//	GET  /probes?batch=B  "<count> <min_ns> <max_ns>": the probes of batch B that reached the peer port
//
// On its peer port a line "probe <batch> <unix_ns>" is a probe (internal/runtimetest): it is counted, with the
// time it took to arrive (the sender stamps it on the same host), and gets no answer, so that a probe shows one
// direction of a path only. Any other line is a greeting, answered "pong <id> to <line>".
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// probeStats is what arrived of one batch of probes.
type probeStats struct {
	count      int
	minNS, max int64
}

var (
	probesMu sync.Mutex
	probes   = map[string]*probeStats{}
)

// probeLine records line if it is a probe, and says whether it was.
func probeLine(line string) bool {
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != "probe" {
		return false
	}
	sent, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		return false
	}
	lat := time.Now().UnixNano() - sent
	probesMu.Lock()
	defer probesMu.Unlock()
	st := probes[f[1]]
	if st == nil {
		st = &probeStats{minNS: lat, max: lat}
		probes[f[1]] = st
	}
	st.count++
	st.minNS, st.max = min(st.minNS, lat), max(st.max, lat)
	return true
}

func main() {
	id := flag.String("id", "", "node id")
	client := flag.String("client", "", "client listen address")
	peer := flag.String("peer", "", "peer listen address")
	data := flag.String("data", "", "data dir")
	peersFlag := flag.String("peers", "", "id=addr,...")
	flag.Parse()
	peers := map[string]string{}
	for _, kv := range strings.Split(*peersFlag, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			peers[k] = v
		}
	}
	if err := os.MkdirAll(*data, 0o755); err != nil {
		log.Fatal(err)
	}
	valueFile := filepath.Join(*data, "value")

	pl, err := net.Listen("tcp", *peer)
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		for {
			c, err := pl.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				line, _ := bufio.NewReader(c).ReadString('\n')
				if probeLine(line) {
					return
				}
				fmt.Fprintf(c, "pong %s to %s", *id, line)
			}()
		}
	}()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		b, _ := os.ReadFile(valueFile)
		fmt.Fprintf(w, "ok %s %s", *id, b)
	})
	mux.HandleFunc("POST /put", func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Create(valueFile)
		if err == nil {
			_, err = f.WriteString(r.URL.Query().Get("v"))
			if err == nil {
				err = f.Sync()
			}
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		fmt.Fprint(w, "stored")
	})
	mux.HandleFunc("GET /dial", func(w http.ResponseWriter, r *http.Request) {
		to := r.URL.Query().Get("to")
		addr, ok := peers[to]
		if !ok {
			http.Error(w, "unknown peer "+to, 400)
			return
		}
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		fmt.Fprintf(c, "%s\n", *id)
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			http.Error(w, err.Error(), 504)
			return
		}
		fmt.Fprint(w, line)
	})
	mux.HandleFunc("GET /probes", func(w http.ResponseWriter, r *http.Request) {
		probesMu.Lock()
		defer probesMu.Unlock()
		st := probes[r.URL.Query().Get("batch")]
		if st == nil {
			st = &probeStats{}
		}
		fmt.Fprintf(w, "%d %d %d", st.count, st.minNS, st.max)
	})
	mux.HandleFunc("GET /env", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, os.Getenv(r.URL.Query().Get("k")))
	})
	log.Printf("testnode %s: client %s peer %s data %s peers %v", *id, *client, *peer, *data, peers)
	log.Fatal(http.ListenAndServe(*client, mux))
}
