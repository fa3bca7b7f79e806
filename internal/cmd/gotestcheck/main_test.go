package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

const stream = `{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"output","Package":"p","Test":"TestA","Output":"--- PASS: TestA (0.00s)\n"}
{"Action":"pass","Package":"p","Test":"TestA"}
{"Action":"run","Package":"p","Test":"TestB"}
{"Action":"output","Package":"p","Test":"TestB","Output":"    b_test.go:9: want 1, got 2\n"}
{"Action":"output","Package":"p","Test":"TestB","Output":"--- FAIL: TestB (0.00s)\n"}
{"Action":"fail","Package":"p","Test":"TestB"}
{"Action":"run","Package":"p","Test":"TestC"}
{"Action":"output","Package":"p","Test":"TestC","Output":"    c_test.go:3: no AVX-512 on this CPU\n"}
{"Action":"output","Package":"p","Test":"TestC","Output":"--- SKIP: TestC (0.00s)\n"}
{"Action":"skip","Package":"p","Test":"TestC"}
{"Action":"run","Package":"p","Test":"TestD"}
{"Action":"output","Package":"p","Test":"TestD","Output":"    d_test.go:3: PADIM_DATA is not set\n"}
{"Action":"skip","Package":"p","Test":"TestD"}
{"Action":"output","Package":"p","Output":"FAIL\tp\t0.01s\n"}
{"Action":"fail","Package":"p"}
{"Action":"skip","Package":"q"}
`

func TestCheckCountsAndSkips(t *testing.T) {
	var out bytes.Buffer
	s, err := check(strings.NewReader(stream), &out, true, regexp.MustCompile("on this CPU"))
	if err != nil {
		t.Fatal(err)
	}
	if s.passed != 1 || s.failed != 1 || s.skipped != 2 || !s.pkgFailed {
		t.Fatalf("summary %+v, want 1 passed, 1 failed, 2 skipped, package failed", s)
	}
	if len(s.badSkips) != 1 || !strings.Contains(s.badSkips[0], "TestD: d_test.go:3: PADIM_DATA is not set") {
		t.Fatalf("bad skips %q, want only TestD's", s.badSkips)
	}
	o := out.String()
	for _, want := range []string{"want 1, got 2", "--- SKIP: p TestC: c_test.go:3: no AVX-512 on this CPU", "FAIL\tp"} {
		if !strings.Contains(o, want) {
			t.Errorf("output lacks %q:\n%s", want, o)
		}
	}
	if strings.Contains(o, "=== RUN") || strings.Contains(o, "PASS: TestA") {
		t.Errorf("output shows a passing test's lines:\n%s", o)
	}
}

func TestCheckSkipsAllowedWithoutNoSkips(t *testing.T) {
	s, err := check(strings.NewReader(stream), &bytes.Buffer{}, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.badSkips) != 0 {
		t.Fatalf("bad skips %q without -no-skips", s.badSkips)
	}
}

func TestCheckPassesThroughNonJSON(t *testing.T) {
	var out bytes.Buffer
	if _, err := check(strings.NewReader("# p\n./x.go:1: syntax error\n"), &out, false, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "syntax error") {
		t.Fatalf("build error lost: %q", out.String())
	}
}
