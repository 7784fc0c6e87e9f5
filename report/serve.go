package report

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"os"
	"path"
	"sort"
	"strings"
	"time"
)

// Server serves a store of run folders: at / the list of runs, newest first, coloured by verdict; under /files/
// the store's files (each run's report.html, history, logs). It opens the store as an os.Root, so no request
// reaches a file outside it: not with "..", not through a symlink that points out of the store.
type Server struct {
	root *os.Root
	mux  *http.ServeMux
}

// NewServer opens the store folder.
func NewServer(store string) (*Server, error) {
	st, err := os.Stat(store)
	if err != nil {
		return nil, fmt.Errorf("report: store: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("report: store: %s is not a folder", store)
	}
	root, err := os.OpenRoot(store)
	if err != nil {
		return nil, fmt.Errorf("report: store: %w", err)
	}
	s := &Server{root: root, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /{$}", s.index)
	s.mux.Handle("GET /files/", http.StripPrefix("/files/", http.FileServerFS(root.FS())))
	// Porcupine's visualizations name no icon, so browsers ask for one: answer with nothing rather than a 404.
	s.mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	return s, nil
}

// ServeHTTP serves one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close closes the store.
func (s *Server) Close() error { return s.root.Close() }

// RunInfo is one run of the store, as the index lists it.
type RunInfo struct {
	// Path is the run folder relative to the store (test/stamp).
	Path    string
	Test    string
	Stamp   string
	When    time.Time
	Verdict string
	Seed    string
	Faults  string
	Report  bool
}

// Runs lists the store's run folders (a folder holding history.jsonl, two levels down, or three for the
// check/ folder of offline checks), newest first. Symlinks (latest) are not followed.
func (s *Server) Runs() ([]RunInfo, error) {
	fsys := s.root.FS()
	var runs []RunInfo
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // an unreadable folder is left out, not fatal
		}
		if p == "." {
			return nil
		}
		depth := strings.Count(p, "/") + 1
		if d.Type()&fs.ModeSymlink != 0 || !d.IsDir() {
			return nil
		}
		if _, err := fs.Stat(fsys, path.Join(p, HistoryFile)); err == nil {
			runs = append(runs, s.runInfo(fsys, p))
			return fs.SkipDir
		}
		if depth >= 4 {
			return fs.SkipDir
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].When.After(runs[j].When) })
	return runs, nil
}

func (s *Server) runInfo(fsys fs.FS, p string) RunInfo {
	ri := RunInfo{Path: p, Test: path.Dir(p), Stamp: path.Base(p), Verdict: "unknown"}
	stamp, _, _ := strings.Cut(ri.Stamp, "-")
	if t, err := time.Parse("20060102T150405", stamp); err == nil {
		ri.When = t
	} else if st, err := fs.Stat(fsys, p); err == nil {
		ri.When = st.ModTime()
	}
	var res struct {
		Verdict string `json:"verdict"`
		Test    string `json:"test"`
		Seed    int64  `json:"seed"`
	}
	if b, err := fs.ReadFile(fsys, path.Join(p, ResultsFile)); err == nil && json.Unmarshal(b, &res) == nil {
		if res.Verdict != "" {
			ri.Verdict = res.Verdict
		}
		if res.Test != "" {
			ri.Test = res.Test
		}
		ri.Seed = fmt.Sprint(res.Seed)
	} else {
		ri.Verdict = "no results"
	}
	var cfg runConfig
	if b, err := fs.ReadFile(fsys, path.Join(p, ConfigFile)); err == nil && json.Unmarshal(b, &cfg) == nil {
		ri.Faults = cfg.faultNames()
		ri.Seed = fmt.Sprint(cfg.Seed)
	}
	if _, err := fs.Stat(fsys, path.Join(p, ReportFile)); err == nil {
		ri.Report = true
	}
	return ri
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	runs, err := s.Runs()
	if err != nil {
		http.Error(w, "cannot list the store: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := indexTemplate.Execute(w, runs); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

var indexTemplate = template.Must(template.New("index").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>skeptic runs</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:20px auto;max-width:1100px;color:#1d2330}
table{border-collapse:collapse;width:100%}td,th{padding:5px 10px;border-bottom:1px solid #e3e5ea;text-align:left}
tr.valid td.v{background:#2b8a3e;color:#fff}tr.invalid td.v{background:#c92a2a;color:#fff}
tr.unknown td.v,tr.no.results td.v{background:#e8890c;color:#fff}
</style></head><body>
<h1>skeptic runs</h1>
{{if not .}}<p>No runs in this store yet.</p>{{else}}
<table id="runs"><tr><th>verdict</th><th>test</th><th>date (UTC)</th><th>faults</th><th>seed</th><th>report</th><th>files</th></tr>
{{range .}}<tr class="{{.Verdict}}"><td class="v">{{.Verdict}}</td><td>{{.Test}}</td><td>{{.When.Format "2006-01-02 15:04:05"}}</td><td>{{.Faults}}</td><td>{{.Seed}}</td>
<td>{{if .Report}}<a href="/files/{{.Path}}/report.html">report</a>{{end}}</td><td><a href="/files/{{.Path}}/">files</a></td></tr>
{{end}}</table>{{end}}
</body></html>
`))
