// Package testenv finds what tests need outside their package: the
// repository root and the shared real data named by PADIM_DATA.
package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// RepoRoot returns the repository root: the nearest folder above the test's
// working directory that holds go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// SharedData returns the shared real data folder named by PADIM_DATA (a
// relative value is taken from the repository root, as CI's
// PADIM_DATA=../shared/data is). Without PADIM_DATA the test is skipped,
// saying why, except under CI (CI set, as CI runners do), where a test that
// needs real data and silently does not run would hide a broken set-up: there
// it fails. A PADIM_DATA that names no folder always fails.
func SharedData(t testing.TB) string {
	t.Helper()
	d := os.Getenv("PADIM_DATA")
	if d == "" {
		if InCI() {
			t.Fatal("PADIM_DATA is not set under CI: this test needs the shared real data (.ci/run sets PADIM_DATA=../shared/data)")
		}
		t.Skip("PADIM_DATA is not set: this test needs the shared real data (CI sets PADIM_DATA=../shared/data)")
	}
	if !filepath.IsAbs(d) {
		d = filepath.Join(RepoRoot(t), d)
	}
	if _, err := os.Stat(d); err != nil {
		t.Fatalf("PADIM_DATA=%s: %v", d, err)
	}
	return d
}

// SharedFile returns PADIM_DATA/rel, failing the test when PADIM_DATA is set
// but the file or folder is not there (a wrong PADIM_DATA is an error, not a
// reason to skip). Without PADIM_DATA it skips or fails as SharedData does.
func SharedFile(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(SharedData(t), filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("PADIM_DATA does not hold %s: %v", rel, err)
	}
	return p
}

// InCI reports whether the tests run under CI (the CI environment variable
// is set to anything but "" or "false").
func InCI() bool {
	v := os.Getenv("CI")
	return v != "" && v != "false" && v != "0"
}
