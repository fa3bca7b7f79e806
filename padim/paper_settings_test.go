package padim

import "testing"

// TestPaperDefaults pins the paper's fit settings as literals: the
// covariance regulariser eps = 0.01 (Sigma + 0.01 I) and the layers
// layer1-3. Other tests build their expectations from the model's own
// epsilon, so a changed default would pass them.
func TestPaperDefaults(t *testing.T) {
	var cfg FitConfig
	cfg.defaults()
	if cfg.Epsilon != 0.01 {
		t.Errorf("default covariance regulariser %v, want the paper's 0.01", cfg.Epsilon)
	}
	if len(cfg.Layers) != 3 || cfg.Layers[0] != "layer1" || cfg.Layers[1] != "layer2" || cfg.Layers[2] != "layer3" {
		t.Errorf("default layers %q, want layer1, layer2, layer3", cfg.Layers)
	}
	if cfg.Selection != SelectRandom {
		t.Errorf("default channel selection %q, want the paper's random subset", cfg.Selection)
	}
	neg := FitConfig{Epsilon: -1}
	neg.defaults()
	if neg.Epsilon != 0 {
		t.Errorf("a negative Epsilon asks for exactly 0; got %v", neg.Epsilon)
	}
}
