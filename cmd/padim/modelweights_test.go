package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/padim-go/padim/datasets"
	"github.com/padim-go/padim/internal/statedict"
)

// TestModelRemembersWeights runs the binary as a user would: fit with
// --weights W, then test and predict without --weights find W through the
// model; a changed W is refused naming both sums; a W that is gone falls
// back to the usual search ($PADIM_DATA/weights), and with nothing there the
// error names the recorded file.
func TestModelRemembersWeights(t *testing.T) {
	data := testDataDir(t)
	orig := filepath.Join(data, "weights", "resnet18-imagenet-layer1to3.pth")
	if _, err := os.Stat(orig); err != nil {
		t.Skipf("shared ResNet-18 weights not available: %v", err)
	}
	bin := buildPadim(t)
	dir := t.TempDir()
	weights := filepath.Join(dir, "mine", "r18.pth")
	copyFile(t, orig, weights)
	root := filepath.Join(dir, "data")
	if err := datasets.GenerateSynthetic(root, datasets.SyntheticOptions{Categories: []string{"disc"}, Size: 64, Train: 4, TestGood: 2, TestPerDefect: 1, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	// Empty search locations: only the model's record can find the weights.
	emptyData, emptyCache := filepath.Join(dir, "empty-data"), filepath.Join(dir, "empty-cache")
	env := []string{"PADIM_DATA=" + emptyData, "PADIM_CACHE=" + emptyCache}
	model := filepath.Join(dir, "disc.padim")
	dataArgs := []string{"--data", root, "--format", "mvtec", "--category", "disc"}
	// Fit from another working directory with a relative --weights: the
	// model must record the absolute path.
	if _, stderr, code := runPadimIn(t, dir, bin, env, append([]string{"fit", "--backbone", "resnet18", "--weights", filepath.Join("mine", "r18.pth"), "--dims", "10", "--batch", "4", "--out", model}, dataArgs...)...); code != 0 {
		t.Fatalf("fit exited %d: %s", code, stderr)
	}
	if _, stderr, code := runPadim(t, bin, env, append([]string{"test", "--model", model}, dataArgs...)...); code != 0 {
		t.Fatalf("test without --weights exited %d: %s", code, stderr)
	}
	img := filepath.Join(root, "disc", "test", "good", "000.png")
	if _, err := os.Stat(img); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runPadim(t, bin, env, "predict", "--model", model, "--out", filepath.Join(dir, "pred"), img); code != 0 {
		t.Fatalf("predict without --weights exited %d: %s", code, stderr)
	}

	// The recorded file changes: refused, naming the file and both sums.
	sum, err := statedict.SHA256File(weights)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(weights, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{0})
	f.Close()
	newSum, err := statedict.SHA256File(weights)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{append([]string{"test", "--model", model}, dataArgs...), {"predict", "--model", model, "--out", filepath.Join(dir, "pred2"), img}} {
		_, stderr, code := runPadim(t, bin, env, args...)
		if code != 1 {
			t.Fatalf("%s with changed weights exited %d, want 1: %s", args[0], code, stderr)
		}
		for _, want := range []string{model, weights, sum, newSum, "--weights"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("%s: error %q does not name %s", args[0], stderr, want)
			}
		}
	}

	// The recorded file is gone: the usual search, which finds nothing...
	if err := os.Remove(weights); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runPadim(t, bin, env, append([]string{"test", "--model", model}, dataArgs...)...)
	if code != 1 || !strings.Contains(stderr, weights) || !strings.Contains(stderr, "no longer there") {
		t.Fatalf("test with the weights gone: exit %d, %s", code, stderr)
	}
	// ...until the original weights are in $PADIM_DATA/weights.
	copyFile(t, orig, filepath.Join(emptyData, "weights", "resnet18-imagenet-layer1to3.pth"))
	if _, stderr, code := runPadim(t, bin, env, append([]string{"test", "--model", model}, dataArgs...)...); code != 0 {
		t.Fatalf("test with the weights in $PADIM_DATA/weights exited %d: %s", code, stderr)
	}
}
