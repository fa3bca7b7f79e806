package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRepoRootHoldsGoMod(t *testing.T) {
	if _, err := os.Stat(filepath.Join(RepoRoot(t), "go.mod")); err != nil {
		t.Fatal(err)
	}
}

func TestSharedDataResolvesRelativeToRoot(t *testing.T) {
	t.Setenv("PADIM_DATA", "internal")
	if got, want := SharedData(t), filepath.Join(RepoRoot(t), "internal"); got != want {
		t.Fatalf("SharedData = %s, want %s", got, want)
	}
}
