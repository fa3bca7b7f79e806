package backbones

import (
	"fmt"
	"strings"

	"github.com/padim-go/padim/internal/tensor"
)

// step is one link of a backbone's chain: the stem, a ResNet stage or an
// EfficientNet MBConv block. Steps run in order; each may name its output
// as one or more layers.
type step interface {
	// units lists the convolutions whose weights the step holds.
	units() []*convUnit
	// forward runs the step. It never modifies x: x may be a returned
	// feature map.
	forward(x *tensor.Tensor) *tensor.Tensor
	// flops counts the step's convolution FLOPs for an h x w input and
	// returns its output size.
	flops(h, w int) (f float64, oh, ow int)
	// outChannels is the number of output channels.
	outChannels() int
}

// network is the one Backbone implementation: a chain of steps, a table of
// named step outputs, and how many steps have weights.
type network struct {
	name   string
	steps  []step
	layers []Layer
	at     map[string]int // layer name -> index of the step that outputs it
	loaded int            // steps[:loaded] have weights
}

// addLayer names the output of the last step added so far.
func (n *network) addLayer(name string) {
	i := len(n.steps) - 1
	stride := n.strideAfter(i)
	n.layers = append(n.layers, Layer{Name: name, Channels: n.steps[i].outChannels(), Stride: stride})
	if n.at == nil {
		n.at = map[string]int{}
	}
	n.at[name] = i
}

// strideAfter is the number of input pixels per output cell after steps[:i+1],
// found by tracing a size every stride divides.
func (n *network) strideAfter(i int) int {
	const probe = 1 << 10
	h := probe
	for _, s := range n.steps[:i+1] {
		_, h, _ = s.flops(h, h)
	}
	return probe / h
}

func (n *network) Name() string { return n.name }

func (n *network) Layers() []Layer {
	out := make([]Layer, len(n.layers))
	copy(out, n.layers)
	return out
}

// depth returns the index of the deepest step the layers need.
func (n *network) depth(layers []string) (int, error) {
	if len(layers) == 0 {
		return 0, fmt.Errorf("backbones: %s: no layers requested", n.name)
	}
	deepest := -1
	for _, l := range layers {
		i, ok := n.at[l]
		if !ok {
			return 0, fmt.Errorf("backbones: %s has no layer %q (it has %s)", n.name, l, n.layerList())
		}
		deepest = max(deepest, i)
	}
	return deepest, nil
}

// layerList describes the layer names for error messages.
func (n *network) layerList() string {
	names := make([]string, len(n.layers))
	for i, l := range n.layers {
		names[i] = l.Name
	}
	if len(names) > 8 {
		return strings.Join(names[:4], ", ") + ", ..., " + strings.Join(names[len(names)-3:], ", ")
	}
	return strings.Join(names, ", ")
}

// trace checks that an h x w input keeps every map up to steps[deepest]
// at least 1 x 1 and returns the conv FLOPs per image.
func (n *network) trace(h, w, deepest int) (float64, error) {
	var total float64
	ih, iw := h, w
	for i, s := range n.steps[:deepest+1] {
		f, oh, ow := s.flops(ih, iw)
		if oh < 1 || ow < 1 {
			return 0, fmt.Errorf("backbones: %s: a %dx%d input is too small: step %d output would be %dx%d", n.name, h, w, i, oh, ow)
		}
		total += f
		ih, iw = oh, ow
	}
	return total, nil
}

// Forward runs x through the steps up to the deepest requested layer.
// Layer names that alias the same step output (stageN and its last block)
// share one tensor.
func (n *network) Forward(x *tensor.Tensor, layers []string) (Features, error) {
	deepest, err := n.depth(layers)
	if err != nil {
		return nil, err
	}
	if deepest >= n.loaded {
		return nil, fmt.Errorf("backbones: %s: layer %s needs weights that were not loaded (loaded through %s)",
			n.name, n.deepestName(layers), n.loadedName())
	}
	if x == nil || x.C != 3 || x.N < 1 || x.H < 1 || x.W < 1 || len(x.Data) != x.Len() {
		return nil, fmt.Errorf("backbones: %s wants an N x 3 x H x W input, got %v", n.name, x)
	}
	if _, err := n.trace(x.H, x.W, deepest); err != nil {
		return nil, err
	}
	want := map[int][]string{}
	for _, l := range layers {
		want[n.at[l]] = append(want[n.at[l]], l)
	}
	// Each step leaves its input alone and returns a new tensor; an
	// output that is not a requested feature goes back to the tensor
	// recycler once the next step has read it, so the next layer or the
	// next batch reuses its memory instead of faulting in fresh pages.
	out := Features{}
	h := x
	for i := 0; i <= deepest; i++ {
		next := n.steps[i].forward(h)
		if i > 0 && len(want[i-1]) == 0 && next != h {
			tensor.Release(h)
		}
		h = next
		for _, l := range want[i] {
			out[l] = h
		}
	}
	return out, nil
}

func (n *network) deepestName(layers []string) string {
	best, name := -1, ""
	for _, l := range layers {
		if n.at[l] > best {
			best, name = n.at[l], l
		}
	}
	return name
}

// loadedName is the deepest layer whose weights are loaded, for messages.
func (n *network) loadedName() string {
	name := "nothing"
	for _, l := range n.layers {
		if n.at[l.Name] < n.loaded {
			name = l.Name
		}
	}
	return name
}

// params lists the state-dict tensors steps[:upto] read, in order.
func (n *network) params(upto int) []paramSpec {
	var ps []paramSpec
	for _, s := range n.steps[:upto] {
		for _, u := range s.units() {
			ps = append(ps, u.params()...)
		}
	}
	return ps
}

// ConvFLOPs counts the convolution FLOPs (two per multiply-add; bias,
// activation, pooling and additions not counted) that one h x w image
// costs on b up to the deepest of layers. b must come from this package.
func ConvFLOPs(b Backbone, h, w int, layers []string) (float64, error) {
	n, ok := b.(*network)
	if !ok {
		return 0, fmt.Errorf("backbones: ConvFLOPs needs a backbone from package backbones, got %T", b)
	}
	deepest, err := n.depth(layers)
	if err != nil {
		return 0, err
	}
	return n.trace(h, w, deepest)
}
