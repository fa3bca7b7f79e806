package backbones

import (
	"github.com/padim-go/padim/internal/testenv"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// realWeightsSHA256 is the digest the shared data README gives for
// weights/resnet18-imagenet-layer1to3.pth.
const realWeightsSHA256 = "8013ad785893fdf93ab9b99ed2143e5578dc5a5319adc5b989e2f3ab2eefad24"

// TestRealResNet18 runs the shared ImageNet ResNet-18 weights (conv1 to
// layer3 only) on the real bottle image the fixture script preprocessed,
// against torchvision's output.
func TestRealResNet18(t *testing.T) {
	data := testenv.SharedData(t)
	m, dir := readManifest(t)
	i := slices.IndexFunc(m.Cases, func(c fixtureCase) bool { return c.Kind == "real" })
	if i < 0 {
		t.Fatal("manifest has no real case")
	}
	c := m.Cases[i]
	path := filepath.Join(data, filepath.FromSlash(c.Weights))
	layers := []string{"layer1", "layer2", "layer3"}
	b, sum, err := Open("resnet18", path, layers)
	if err != nil {
		t.Fatal(err)
	}
	if sum != realWeightsSHA256 {
		t.Errorf("sha256 %s, want %s", sum, realWeightsSHA256)
	}
	x := readArray(t, m, dir, *c.Input)
	feats, err := b.Forward(x, layers)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		want := readArray(t, m, dir, c.Outputs[l])
		e, err := relErr(feats[l], want)
		if err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		t.Logf("real resnet18 %s %v: max|go-torch|/max|torch| = %.2e", l, want.Shape(), e)
		if e > parityTol {
			t.Errorf("%s: relative error %.3g > %g", l, e, parityTol)
		}
	}
	// The file has no layer4: asking for it names the file and the tensor.
	_, _, err = Open("resnet18", path, []string{"layer4"})
	if err == nil || !strings.Contains(err.Error(), path+": tensor layer4.0.conv1.weight missing") {
		t.Fatalf("Open for layer4: %v", err)
	}
}
