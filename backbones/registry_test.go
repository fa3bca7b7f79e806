package backbones

import "testing"

// TestPaDiMDims: the paper's d per backbone (Section 4.1: 100 of ResNet-18's
// 448 layer1-3 channels, 550 of Wide-ResNet-50-2's 1792, every channel of
// EfficientNet-B5), never more than the PaDiM layers provide.
func TestPaDiMDims(t *testing.T) {
	want := map[string]struct{ d, channels int }{"resnet18": {100, 448}, "wide_resnet50_2": {550, 1792}, "efficientnet_b5": {0, 0}}
	for _, name := range Names() {
		s, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, l := range s.Layers {
			for _, p := range s.PaDiMLayers {
				if l.Name == p {
					total += l.Channels
				}
			}
		}
		w, ok := want[name]
		if !ok {
			t.Errorf("%s: no expected d", name)
			continue
		}
		if s.PaDiMDims != w.d || (w.channels != 0 && total != w.channels) || s.PaDiMDims > total {
			t.Errorf("%s: d %d of %d channels, want %d of %d", name, s.PaDiMDims, total, w.d, w.channels)
		}
	}
}
