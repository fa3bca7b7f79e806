package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/internal/cpuinfo"
)

// TestShellConventions runs the binary: the exit statuses that --help
// documents, the completion scripts, and the values completion offers for
// the project's flags (through cobra's __complete, which the scripts call).
func TestShellConventions(t *testing.T) {
	bin := buildPadim(t)

	help, _, code := runPadim(t, bin, nil, "--help")
	if code != 0 {
		t.Fatalf("--help exited %d", code)
	}
	for _, want := range []string{"Exit status:", "0    success", "1    the command failed", "2    the command line is wrong", "130  interrupted"} {
		if !strings.Contains(help, want) {
			t.Errorf("--help does not document %q:\n%s", want, help)
		}
	}

	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"version"}, 0, ""},
		{nil, 0, ""}, // the help
		{[]string{"nosuch"}, 2, `unknown command "nosuch"`},
		{[]string{"fit", "--nosuch"}, 2, "unknown flag: --nosuch"},
		{[]string{"fit", "--dims", "many"}, 2, `invalid argument "many" for "--dims"`},
		{[]string{"version", "extra"}, 2, `unknown command "extra"`},
		{[]string{"predict", "--model", "m.padim", "--out", "o"}, 2, "requires at least 1 arg"},
		{[]string{"test", "--model", t.TempDir() + "/missing.padim"}, 1, "missing.padim"},
	} {
		_, stderr, code := runPadim(t, bin, nil, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.msg) {
			t.Errorf("padim %s: exit %d, stderr %q; want %d and %q", strings.Join(tc.args, " "), code, stderr, tc.code, tc.msg)
		}
		if code == 2 && !strings.Contains(stderr, "--help") {
			t.Errorf("padim %s: a usage error should point at --help: %q", strings.Join(tc.args, " "), stderr)
		}
	}

	// padim version names the CPU as the benchmark reports do, so that a
	// timing or a bug report says which processor it came from.
	if want := cpuinfo.Read(); want != "" {
		out, _, code := runPadim(t, bin, nil, "version")
		if code != 0 || !strings.Contains(out, "\ncpu: "+want+"\n") {
			t.Errorf("padim version: exit %d, no line \"cpu: %s\" in\n%s", code, want, out)
		}
	}

	for shell, marker := range map[string]string{"bash": "complete -o default -F __start_padim padim", "zsh": "#compdef padim", "fish": "complete -c padim"} {
		script, stderr, code := runPadim(t, bin, nil, "completion", shell)
		if code != 0 || !strings.Contains(script, marker) {
			t.Errorf("completion %s: exit %d, %s; script lacks %q", shell, code, stderr, marker)
		}
	}

	// complete returns the candidates and the directive cobra prints last (":N").
	complete := func(args ...string) ([]string, string) {
		out, stderr, code := runPadim(t, bin, nil, append([]string{"__complete"}, args...)...)
		if code != 0 {
			t.Fatalf("__complete %v: exit %d: %s", args, code, stderr)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		return lines[:len(lines)-1], lines[len(lines)-1]
	}
	has := func(got []string, want ...string) bool {
		for _, w := range want {
			found := false
			for _, g := range got {
				found = found || g == w
			}
			if !found {
				return false
			}
		}
		return true
	}
	if got, _ := complete("fit", "--format", ""); !has(got, datasetFormatNames()...) {
		t.Errorf("--format completes to %v", got)
	}
	if got, _ := complete("fit", "--backbone", ""); !has(got, backbones.Names()...) {
		t.Errorf("--backbone completes to %v, want %v", got, backbones.Names())
	}
	// Categories: the folders under --data, else MVTec AD's list.
	if got, _ := complete("fit", "--data", t.TempDir(), "--category", ""); !has(got, "bottle", "carpet", "zipper") {
		t.Errorf("--category without category folders completes to %v", got)
	}
	synth := t.TempDir()
	for _, c := range []string{"disc", "stripes"} {
		if err := os.Mkdir(filepath.Join(synth, c), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := complete("fit", "--data", synth, "--category", ""); !has(got, "disc", "stripes") || len(got) != 2 {
		t.Errorf("--category completes to %v", got)
	}
	if got, _ := complete("reproduce", "--only", "layers,d"); !has(got, "layers,detection", "layers,dims") || has(got, "layers,layers") {
		t.Errorf("--only layers,d completes to %v", got)
	}
	if got, _ := complete("fetch", "weights", ""); !has(got, backbones.Names()...) {
		t.Errorf("fetch weights completes to %v, want %v", got, backbones.Names())
	}
	// File flags: the shell filters by extension (directive 8, FilterFileExt).
	if got, dir := complete("fit", "--weights", ""); !has(got, "pth", "safetensors") || dir != ":8" {
		t.Errorf("--weights completes to %v %s", got, dir)
	}
	if got, dir := complete("predict", "--model", ""); !has(got, "padim") || dir != ":8" {
		t.Errorf("--model completes to %v %s", got, dir)
	}
	if _, dir := complete("fit", "--data", ""); dir != ":16" { // FilterDirs
		t.Errorf("--data completes with directive %s, want directories", dir)
	}
}
