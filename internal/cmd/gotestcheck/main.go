// Command gotestcheck reads `go test -json` on standard input, prints what a
// plain `go test` would (package results, and the output of failed tests),
// plus every skipped test with its reason, and ends with one line
// "N passed, N failed, N skipped".
//
// With -no-skips it exits 1 when a test was skipped for any reason other
// than those matched by -allow (a regular expression tried against the skip
// message). CI uses it so that a test that needs the shared data, a service
// or a tool cannot silently not run: only skips that name a CPU feature the
// machine lacks, or -short in a -short pass, are accepted there.
//
//	go test -json ./... | go run ./internal/cmd/gotestcheck -no-skips -allow 'on this CPU'
//
// It exits with 1 too when any test or package failed, so a pipeline's
// status is right even without pipefail.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

type event struct {
	Action     string
	Package    string
	ImportPath string
	Test       string
	Output     string
}

type testKey struct{ pkg, test string }

// summary is what a run of go test -json amounted to.
type summary struct {
	passed, failed, skipped int
	badSkips                []string // "pkg TestX: reason" of skips not allowed
	pkgFailed               bool
}

func check(in io.Reader, out io.Writer, noSkips bool, allow *regexp.Regexp) (summary, error) {
	var s summary
	outputs := map[testKey][]string{}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
			// Not an event (e.g. a build error printed by the go command).
			fmt.Fprintln(out, string(line))
			continue
		}
		k := testKey{e.Package, e.Test}
		switch e.Action {
		case "build-output":
			fmt.Fprint(out, e.Output)
		case "build-fail":
			s.pkgFailed = true
		case "output":
			if e.Test == "" {
				// Package-level lines: "ok  pkg 1.2s", "FAIL", "PASS", panics.
				if t := strings.TrimSpace(e.Output); t != "PASS" && !strings.HasPrefix(t, "=== ") {
					fmt.Fprint(out, e.Output)
				}
				continue
			}
			outputs[k] = append(outputs[k], e.Output)
		case "pass":
			if e.Test != "" {
				s.passed++
				delete(outputs, k)
			}
		case "fail":
			if e.Test == "" {
				s.pkgFailed = true
				continue
			}
			s.failed++
			fmt.Fprint(out, strings.Join(outputs[k], ""))
			delete(outputs, k)
		case "skip":
			if e.Test == "" {
				continue // a package without tests
			}
			s.skipped++
			reason := skipReason(outputs[k])
			fmt.Fprintf(out, "--- SKIP: %s %s: %s\n", e.Package, e.Test, reason)
			if noSkips && (allow == nil || !allow.MatchString(reason)) {
				s.badSkips = append(s.badSkips, fmt.Sprintf("%s %s: %s", e.Package, e.Test, reason))
			}
			delete(outputs, k)
		}
	}
	return s, sc.Err()
}

// skipReason is the test's output without the framework's own lines.
func skipReason(lines []string) string {
	var parts []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		parts = append(parts, t)
	}
	if len(parts) == 0 {
		return "(no reason given)"
	}
	return strings.Join(parts, " ")
}

func main() {
	noSkips := flag.Bool("no-skips", false, "fail when a test is skipped for a reason -allow does not match")
	allowExpr := flag.String("allow", "", "regular expression: skip reasons accepted with -no-skips")
	flag.Parse()
	var allow *regexp.Regexp
	if *allowExpr != "" {
		var err error
		if allow, err = regexp.Compile(*allowExpr); err != nil {
			fmt.Fprintf(os.Stderr, "gotestcheck: -allow: %v\n", err)
			os.Exit(2)
		}
	}
	s, err := check(os.Stdin, os.Stdout, *noSkips, allow)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gotestcheck: reading go test -json: %v\n", err)
		os.Exit(2)
	}
	for _, b := range s.badSkips {
		fmt.Printf("not allowed to skip here: %s\n", b)
	}
	fmt.Printf("%d passed, %d failed, %d skipped\n", s.passed, s.failed, s.skipped)
	if s.failed > 0 || s.pkgFailed || len(s.badSkips) > 0 {
		os.Exit(1)
	}
}
