// Command minikv is a minimal single-node key-value server that speaks shared/PROTOCOL.md, written for the tests
// of spec-file targets: a user's system as skeptic sees one. It keeps its map in memory behind one lock, so every
// history it serves is linearizable; with -stale-every N it answers every Nth read with the value before the
// latest write, a bug the checker must catch.
//
//	minikv -listen 127.0.0.1:9000 [-id n1] [-stale-every N]
package main

import (
	"encoding/json"
	"flag"
	"log"
	"net/http"
	"strings"
	"sync"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9000", "client address")
	id := flag.String("id", "n1", "node id")
	staleEvery := flag.Int("stale-every", 0, "answer every Nth read with the previous value (0: never)")
	flag.Parse()

	var (
		mu    sync.Mutex
		kv    = map[string]int64{}
		prev  = map[string]*int64{}
		reads int
	)
	reply := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	http.HandleFunc("/admin/status", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, map[string]string{"id": *id, "leader": *id})
	})
	http.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) { reply(w, 200, map[string]string{}) })
	http.HandleFunc("/kv/", func(w http.ResponseWriter, r *http.Request) {
		key, cas := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/kv/"), "/cas")
		if key == "" {
			reply(w, 400, map[string]any{"error": "empty key", "definite": true})
			return
		}
		mu.Lock()
		defer mu.Unlock()
		cur := func() *int64 {
			if v, ok := kv[key]; ok {
				return &v
			}
			return nil
		}
		set := func(v int64) { prev[key] = cur(); kv[key] = v }
		switch {
		case r.Method == http.MethodGet && !cas:
			reads++
			if *staleEvery > 0 && reads%*staleEvery == 0 {
				if p, ok := prev[key]; ok {
					reply(w, 200, map[string]*int64{"value": p})
					return
				}
			}
			reply(w, 200, map[string]*int64{"value": cur()})
		case r.Method == http.MethodPut && !cas:
			var b struct{ Value *int64 }
			if json.NewDecoder(r.Body).Decode(&b) != nil || b.Value == nil {
				reply(w, 400, map[string]any{"error": "want {\"value\": N}", "definite": true})
				return
			}
			set(*b.Value)
			reply(w, 200, map[string]any{})
		case r.Method == http.MethodPost && cas:
			var b struct{ From, To *int64 }
			if json.NewDecoder(r.Body).Decode(&b) != nil || b.From == nil || b.To == nil {
				reply(w, 400, map[string]any{"error": "want {\"from\": N, \"to\": M}", "definite": true})
				return
			}
			if c := cur(); c == nil || *c != *b.From {
				reply(w, 409, map[string]any{"error": "cas-mismatch", "value": c})
				return
			}
			set(*b.To)
			reply(w, 200, map[string]any{})
		default:
			reply(w, 405, map[string]any{"error": "method not allowed", "definite": true})
		}
	})
	log.Printf("minikv %s listening on %s", *id, *listen)
	log.Fatal(http.ListenAndServe(*listen, nil))
}
