package report

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// JUnitRun is one run for the JUnit file: what the harness returned about it.
type JUnitRun struct {
	// Test is the test's name and Seed the run's seed.
	Test string
	Seed int64
	// Dir is the run folder, whose report.json holds the anomalies; "" when the run made none.
	Dir string
	// Verdict is valid, invalid or unknown.
	Verdict string
	// Error is what stopped the run, if anything did (a setup error, an interruption).
	Error string
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",chardata"`
}

// WriteJUnit writes JUnit XML to path: one testsuite named "skeptic", one testcase per run (so, with
// --test-count, one per repetition). An invalid run is a failure whose message is the first anomaly in plain
// words (CI systems show it inline) and whose body holds every explained anomaly, the report's path and the
// command that re-runs the test; an unknown verdict or a run that stopped with an error is an error.
func WriteJUnit(path string, runs []JUnitRun) error {
	suite := junitSuite{Name: "skeptic", Timestamp: time.Now().UTC().Format(time.RFC3339)}
	var total time.Duration
	for i, r := range runs {
		c := junitCase{Name: fmt.Sprintf("%s #%d (seed %d)", r.Test, i+1, r.Seed), Classname: "skeptic." + r.Test}
		var s Summary
		hasSummary := false
		if r.Dir != "" {
			if b, err := os.ReadFile(filepath.Join(r.Dir, SummaryFile)); err == nil && json.Unmarshal(b, &s) == nil {
				hasSummary = true
			}
		}
		c.Time = fmt.Sprintf("%.3f", s.Duration.Seconds())
		total += s.Duration
		if r.Dir != "" {
			c.SystemOut = "run folder: " + r.Dir + "\nreport: " + filepath.Join(r.Dir, ReportFile) + "\n"
		}
		switch {
		case r.Error != "":
			c.Error = &junitProblem{Type: "error", Message: r.Error, Body: r.Error}
			suite.Errors++
		case r.Verdict == "invalid":
			msg := "the history is not linearizable"
			var body strings.Builder
			if hasSummary {
				if len(s.Anomalies) > 0 {
					msg = s.Anomalies[0].Text
				}
				fmt.Fprintf(&body, "%d of %d keys are not linearizable.\n\n", s.FailedKeys, s.Keys)
				for _, a := range s.Anomalies {
					fmt.Fprintf(&body, "key %s: %s\n", a.Key, a.Text)
					if len(a.Faults) > 0 {
						fmt.Fprintf(&body, "  faults active: %s\n", strings.Join(a.Faults, "; "))
					}
				}
				fmt.Fprintf(&body, "\nre-run: %s\n", s.Command)
			}
			if r.Dir != "" {
				fmt.Fprintf(&body, "report: %s\n", filepath.Join(r.Dir, ReportFile))
			}
			c.Failure = &junitProblem{Type: "invalid", Message: msg, Body: body.String()}
			suite.Failures++
		case r.Verdict == "valid":
		default:
			msg := "unknown: the check did not decide every key in time"
			c.Error = &junitProblem{Type: "unknown", Message: msg, Body: msg}
			suite.Errors++
		}
		suite.Cases = append(suite.Cases, c)
	}
	suite.Tests = len(suite.Cases)
	suite.Time = fmt.Sprintf("%.3f", total.Seconds())
	doc := junitSuites{Name: "skeptic", Tests: suite.Tests, Failures: suite.Failures, Errors: suite.Errors, Time: suite.Time, Suites: []junitSuite{suite}}
	b, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	if err := writeFile(path, append([]byte(xml.Header), append(b, '\n')...)); err != nil {
		return fmt.Errorf("--junit: %w", err)
	}
	return nil
}
