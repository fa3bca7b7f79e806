package backbones

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/padim-go/padim/internal/statedict"
	"github.com/padim-go/padim/internal/tensor"
)

func TestLoadErrors(t *testing.T) {
	full := formulaStateDict(t, "resnet18")
	without := func(drop string) statedict.StateDict {
		sd := statedict.StateDict{}
		for k, v := range full {
			if k != drop {
				sd[k] = v
			}
		}
		return sd
	}
	reshaped := func(name string, shape []int) statedict.StateDict {
		sd := without(name)
		sd[name] = &statedict.Tensor{Name: name, Shape: shape, Data: make([]float32, 64*3*7*6)}
		return sd
	}
	shortData := without("bn1.weight")
	shortData["bn1.weight"] = &statedict.Tensor{Name: "bn1.weight", Shape: []int{64}, Data: make([]float32, 10)}
	negVar := without("bn1.running_var")
	negVar["bn1.running_var"] = &statedict.Tensor{Name: "bn1.running_var", Shape: []int{64}, Data: slices.Repeat([]float32{-1}, 64)}
	effFull := formulaStateDict(t, "efficientnet_b5")
	effWithout := func(drop string) statedict.StateDict {
		sd := statedict.StateDict{}
		for k, v := range effFull {
			if k != drop {
				sd[k] = v
			}
		}
		return sd
	}
	tests := []struct {
		name   string
		model  string
		sd     statedict.StateDict
		layers []string
		want   string
	}{
		{"unknown backbone", "resnet19", full, []string{"layer1"}, `unknown backbone "resnet19"`},
		{"unknown layer", "resnet18", full, []string{"layer1", "layer5"}, `no layer "layer5"`},
		{"no layers", "resnet18", full, nil, "no layers requested"},
		{"missing conv", "resnet18", without("layer2.0.downsample.0.weight"), []string{"layer2"}, "state dict: tensor layer2.0.downsample.0.weight missing"},
		{"missing bn", "resnet18", without("layer1.1.bn2.running_mean"), []string{"layer3"}, "state dict: tensor layer1.1.bn2.running_mean missing"},
		{"wrong shape", "resnet18", reshaped("conv1.weight", []int{64, 3, 7, 6}), []string{"layer1"}, "state dict: tensor conv1.weight shape [64 3 7 6] want [64 3 7 7]"},
		{"short data", "resnet18", shortData, []string{"layer1"}, "tensor bn1.weight has 10 values"},
		{"negative variance", "resnet18", negVar, []string{"layer1"}, "non-positive variance"},
		{"nil state dict", "efficientnet_b5", nil, []string{"block0"}, "tensor features.0.0.weight missing"},
		{"missing se bias", "efficientnet_b5", effWithout("features.1.0.block.1.fc1.bias"), []string{"block0"}, "tensor features.1.0.block.1.fc1.bias missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.model, tc.sd, tc.layers)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestPartialLoad proves Load stops at the deepest requested layer: a
// ResNet-18 state dict without layer4 and fc (like the shared real file)
// serves layer1..layer3 and refuses layer4.
func TestPartialLoad(t *testing.T) {
	sd := statedict.StateDict{}
	for k, v := range formulaStateDict(t, "resnet18") {
		if !strings.HasPrefix(k, "layer4.") {
			sd[k] = v
		}
	}
	if _, err := Load("resnet18", sd, []string{"layer4"}); err == nil || !strings.Contains(err.Error(), "tensor layer4.0.conv1.weight missing") {
		t.Fatalf("loading layer4 without its tensors: %v", err)
	}
	b, err := Load("resnet18", sd, []string{"layer1", "layer3"})
	if err != nil {
		t.Fatal(err)
	}
	x := formulaInput([]int{1, 3, 32, 32})
	if _, err := b.Forward(x, []string{"layer2"}); err != nil {
		t.Fatalf("layer2 is within the loaded depth: %v", err)
	}
	if _, err := b.Forward(x, []string{"layer1", "layer4"}); err == nil || !strings.Contains(err.Error(), "loaded through layer3") {
		t.Fatalf("layer4 beyond the loaded depth: %v", err)
	}
}

// TestLoadLeavesStateDictAlone: folding must work on copies.
func TestLoadLeavesStateDictAlone(t *testing.T) {
	sd := formulaStateDict(t, "resnet18")
	before := slices.Clone(sd["conv1.weight"].Data)
	if _, err := Load("resnet18", sd, []string{"layer1"}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(before, sd["conv1.weight"].Data) {
		t.Fatal("Load modified the caller's conv1.weight")
	}
}

// TestNewShapes runs the zero-weight networks: every layer has the
// registry's channels and input/stride spatial size, and (all weights and
// biases being zero) is exactly zero.
func TestNewShapes(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			if testing.Short() && name == "wide_resnet50_2" {
				t.Skip("-short: the largest network is checked in the full run")
			}
			b, err := New(name)
			if err != nil {
				t.Fatal(err)
			}
			if b.Name() != name {
				t.Fatalf("Name() = %q", b.Name())
			}
			var layers []string
			for _, l := range b.Layers() {
				layers = append(layers, l.Name)
			}
			if name == "wide_resnet50_2" {
				layers = layers[:3] // layer4 adds 15M weights of zeros and nothing new
			}
			x := formulaInput([]int{2, 3, 64, 96})
			feats, err := b.Forward(x, layers)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range b.Layers() {
				if !slices.Contains(layers, l.Name) {
					continue
				}
				f := feats[l.Name]
				if f == nil || f.N != 2 || f.C != l.Channels || f.H != 64/l.Stride || f.W != 96/l.Stride {
					t.Fatalf("%s: got %v, want 2x%dx%dx%d", l.Name, f, l.Channels, 64/l.Stride, 96/l.Stride)
				}
				for _, v := range f.Data {
					if v != 0 {
						t.Fatalf("%s: zero weights gave %g", l.Name, v)
					}
				}
			}
		})
	}
}

func TestForwardErrors(t *testing.T) {
	b, err := New("resnet18")
	if err != nil {
		t.Fatal(err)
	}
	bad := &tensor.Tensor{N: 1, C: 3, H: 8, W: 8, Data: make([]float32, 10)}
	tests := []struct {
		name   string
		x      *tensor.Tensor
		layers []string
		want   string
	}{
		{"nil input", nil, []string{"layer1"}, "wants an N x 3 x H x W input"},
		{"one channel", tensor.New(1, 1, 32, 32), []string{"layer1"}, "wants an N x 3 x H x W input"},
		{"empty image", tensor.New(1, 3, 0, 32), []string{"layer1"}, "wants an N x 3 x H x W input"},
		{"data length", bad, []string{"layer1"}, "wants an N x 3 x H x W input"},
		{"unknown layer", tensor.New(1, 3, 32, 32), []string{"block7"}, `no layer "block7"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.Forward(tc.x, tc.layers)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestForwardKeepsInputAndAliases: Forward must not write into its input,
// and a stage name returns the same tensor as its last block.
func TestForwardKeepsInputAndAliases(t *testing.T) {
	b, err := Load("efficientnet_b5", formulaStateDict(t, "efficientnet_b5"), []string{"stage2"})
	if err != nil {
		t.Fatal(err)
	}
	x := formulaInput([]int{1, 3, 32, 48})
	before := slices.Clone(x.Data)
	f, err := b.Forward(x, []string{"block6", "block7", "stage2"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(before, x.Data) {
		t.Fatal("Forward modified its input")
	}
	if f["stage2"] != f["block7"] {
		t.Fatal("stage2 is not block7's output")
	}
	if slices.Equal(f["block6"].Data, f["block7"].Data) {
		t.Fatal("block6 and block7 outputs are identical: block7 wrote into block6's map?")
	}
}

func TestRegistry(t *testing.T) {
	if got := Names(); !slices.Equal(got, []string{"efficientnet_b5", "resnet18", "wide_resnet50_2"}) {
		t.Fatalf("Names() = %v", got)
	}
	if _, err := Lookup("vgg16"); err == nil {
		t.Fatal("Lookup(vgg16) succeeded")
	}
	// PaDiM's embedding sizes: 448 for R18 (paper), 1792 for WR50 (paper),
	// 344 for EfficientNet-B5 blocks 7, 20, 26 counted from 1.
	wantDims := map[string]int{"resnet18": 448, "wide_resnet50_2": 1792, "efficientnet_b5": 344}
	for _, name := range Names() {
		s, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		dim := 0
		for _, l := range s.PaDiMLayers {
			i := slices.IndexFunc(s.Layers, func(x Layer) bool { return x.Name == l })
			if i < 0 {
				t.Fatalf("%s: PaDiM layer %s not in Layers", name, l)
			}
			dim += s.Layers[i].Channels
		}
		if dim != wantDims[name] {
			t.Errorf("%s: PaDiM embedding size %d, want %d", name, dim, wantDims[name])
		}
		w := s.Weights
		if !strings.HasSuffix(w.URL, "/"+w.File) || len(w.SHA256) < 8 || !strings.Contains(w.File, "-"+w.SHA256[:8]+".") {
			t.Errorf("%s: weights %+v: the file name must carry the SHA-256 prefix", name, w)
		}
	}
}

// TestConvFLOPs compares with a count by hand: ResNet-18 at 224 x 224
// through layer1 is conv1 (3->64, 7x7, 112x112 out) plus four 64->64 3x3
// convs at 56x56, two FLOPs per multiply-add.
func TestConvFLOPs(t *testing.T) {
	b, err := New("resnet18")
	if err != nil {
		t.Fatal(err)
	}
	conv1 := 2.0 * 3 * 49 * 64 * 112 * 112
	block := 2.0 * 64 * 9 * 64 * 56 * 56
	got, err := ConvFLOPs(b, 224, 224, []string{"layer1"})
	if err != nil {
		t.Fatal(err)
	}
	if want := conv1 + 4*block; math.Abs(got-want) > 0.5 {
		t.Fatalf("ConvFLOPs = %.0f, want %.0f", got, want)
	}
	// layer2 adds a stride-2 3x3 64->128 conv, three 128->128 3x3 convs and
	// the 1x1 stride-2 downsample, all at 28x28.
	l2 := 2.0*64*9*128*784 + 3*2.0*128*9*128*784 + 2.0*64*128*784
	got, err = ConvFLOPs(b, 224, 224, []string{"layer2"})
	if err != nil {
		t.Fatal(err)
	}
	if want := conv1 + 4*block + l2; math.Abs(got-want) > 0.5 {
		t.Fatalf("ConvFLOPs to layer2 = %.0f, want %.0f", got, want)
	}
}

// TestMissingTensorIsTyped: a weights file without a tensor the layers need
// gives a *MissingTensorError naming both, which callers tell apart from a
// corrupt file with errors.As.
func TestMissingTensorIsTyped(t *testing.T) {
	_, err := Load("resnet18", statedict.StateDict{}, []string{"layer1"})
	var missing *MissingTensorError
	if !errors.As(err, &missing) || missing.Tensor != "conv1.weight" {
		t.Fatalf("Load of an empty state dict: %v (%T), want a MissingTensorError for conv1.weight", err, err)
	}
}
