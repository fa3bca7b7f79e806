package experiments

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/padim-go/padim/internal/testenv"
)

// TestWeightsWithoutLayerAreNotAvailable: a run whose layers the weights
// file does not hold (the shared ResNet-18 file stops at layer3) is "not
// run here" with a fetch hint, not a failure, and the reason names the
// missing tensor.
func TestWeightsWithoutLayerAreNotAvailable(t *testing.T) {
	w := testenv.SharedFile(t, "weights/resnet18-imagenet-layer1to3.pth")
	env := &Env{WeightsDirs: []string{filepath.Dir(w)}}
	_, _, err := env.openBackbone(ModelSpec{Method: "spade", Backbone: "resnet18"}, []string{"layer1", "layer4"})
	var na *NotAvailable
	if !errors.As(err, &na) {
		t.Fatalf("openBackbone with layer4: %v (%T), want *NotAvailable", err, err)
	}
	if !strings.Contains(na.Reason, "layer4.0.conv1.weight missing") || na.Fetch != "padim fetch weights resnet18" {
		t.Errorf("reason %q, fetch %q", na.Reason, na.Fetch)
	}
	if _, _, err := env.openBackbone(ModelSpec{Method: "padim", Backbone: "resnet18"}, []string{"layer1", "layer3"}); err != nil {
		t.Errorf("openBackbone with layer1..3: %v", err)
	}
}
