package benchmark

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/padim-go/padim/padim"
)

func TestParseConfig(t *testing.T) {
	for _, tc := range []struct {
		in   string
		name string
		d    int
		ok   bool
	}{
		{"resnet18:100", "resnet18", 100, true},
		{"wide_resnet50_2:550", "wide_resnet50_2", 550, true},
		{"resnet18", "", 0, false},
		{"resnet18:0", "", 0, false},
		{"vgg16:10", "", 0, false},
	} {
		name, d, err := ParseConfig(tc.in)
		if (err == nil) != tc.ok || name != tc.name || d != tc.d {
			t.Errorf("ParseConfig(%q) = %q, %d, %v", tc.in, name, d, err)
		}
	}
}

// TestFitHeldBytes checks the memory report's formula on hand-worked
// cases.
func TestFitHeldBytes(t *testing.T) {
	// d = 2: shift and sum 2+2 float64, one 2x2 panel of S (4 float64),
	// 4 images x 2 float32: 64 + 32 bytes.
	if got := padim.FitHeldBytes(1, 2, 4); got != 96 {
		t.Errorf("FitHeldBytes(1, 2, 4) = %d, want 96", got)
	}
	// Wide-ResNet-50-2, d = 550: S has 17 full panels of 32 rows, 32 *
	// (550 - 32j) values each, and a last one of 6 x 6: 159972 float64;
	// with shift and sum, 3136 * 161072 * 8 = 4040974336 bytes, plus the
	// 64-image buffer 3136 * 64 * 550 * 4 = 441548800.
	if got := padim.FitHeldBytes(3136, 550, accumulationImages); got != 4040974336+441548800 {
		t.Errorf("FitHeldBytes(3136, 550, 64) = %d, want %d", got, 4040974336+441548800)
	}
}

// TestChildArgs: the child gets every setting the parent holds, the
// child-only ones only when set.
func TestChildArgs(t *testing.T) {
	o := E2EOptions{Data: "/d", Category: "bottle", Train: 200, Test: 100, Size: 256, Batch: 8, Seed: 3}
	got := strings.Join(o.childArgs("resnet18:100"), " ")
	for _, want := range []string{"--child resnet18:100", "--train 200", "--test 100", "--size 256", "--batch 8", "--seed 3", "--category bottle", "--data /d", "--threads "} {
		if !strings.Contains(got, want) {
			t.Errorf("args %q lack %q", got, want)
		}
	}
	for _, not := range []string{"--fit-only", "--use-train", "--crop", "--work"} {
		if strings.Contains(got, not) {
			t.Errorf("args %q have %s, which is not set", got, not)
		}
	}
	o.FitOnly, o.UseTrain, o.Crop, o.WorkDir = true, 50, 128, "/w"
	got = strings.Join(o.childArgs("wide_resnet50_2:550"), " ")
	for _, want := range []string{"--fit-only", "--use-train 50", "--crop 128", "--work /w"} {
		if !strings.Contains(got, want) {
			t.Errorf("args %q lack %q", got, want)
		}
	}
	if _, err := (E2EOptions{}).runChild(context.Background(), &bytes.Buffer{}, "resnet18:1"); err == nil {
		t.Error("runChild without Self did not fail")
	}
}

// TestE2EChildSmoke runs the timed pipeline in this process on a tiny
// generated category (ResNet-18 with random weights, d=8, 3 training and
// 4 test images):
// every stage is timed, the total is the sum of its stages, and the JSON
// line decodes.
func TestE2EChildSmoke(t *testing.T) {
	o := E2EOptions{Child: "resnet18:8", Data: t.TempDir(), Category: "bottle", Train: 3, Test: 4, Size: 64, Batch: 2, Seed: 1, WorkDir: t.TempDir()}
	var out bytes.Buffer
	if err := RunE2EChild(context.Background(), &out, o); err != nil {
		t.Fatal(err)
	}
	var r E2EResult
	if err := decodeLastJSON(out.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if r.Impl != "go" || r.Backbone != "resnet18" || r.D != 8 || r.Train != 3 || r.Test != 4 || r.PeakRSSBytes <= 0 {
		t.Errorf("result %+v", r)
	}
	stages := []string{"decode", "features_train", "fit", "features_test", "score", "metrics"}
	sum := 0.0
	for _, k := range append(slices.Clone(stages), "finalize", "model_io", "pro") {
		if _, ok := r.Seconds[k]; !ok {
			t.Errorf("stage %s not timed: %v", k, r.Seconds)
		}
	}
	for _, k := range stages {
		sum += r.Seconds[k]
	}
	if d := r.Seconds["total"] - sum; d > 1e-9 || d < -1e-9 {
		t.Errorf("total %g is not the sum of the stages %g", r.Seconds["total"], sum)
	}
	if r.ImageAUROC < 0 || r.ImageAUROC > 1 || r.PixelAUROC < 0 || r.PixelAUROC > 1 {
		t.Errorf("AUROCs %g, %g", r.ImageAUROC, r.PixelAUROC)
	}

	o.FitOnly, o.UseTrain = true, 2
	out.Reset()
	if err := RunE2EChild(context.Background(), &out, o); err != nil {
		t.Fatal(err)
	}
	r = E2EResult{} // decoding into the old result would merge its maps
	if err := decodeLastJSON(out.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Seconds["score"]; ok || r.Train != 2 || r.Seconds["total"] <= 0 {
		t.Errorf("fit-only result %+v", r)
	}
}
