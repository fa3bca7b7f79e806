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
// PADIM_DATA=../shared/data is), or skips the test saying why.
func SharedData(t testing.TB) string {
	t.Helper()
	d := os.Getenv("PADIM_DATA")
	if d == "" {
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
