package backbones

import (
	"github.com/padim-go/padim/internal/statedict"
)

// New returns the named backbone with every weight zero (and every folded
// bias zero), ready for Load-free tests and benchmarks of speed.
func New(name string) (Backbone, error) {
	n, err := build(name)
	if err != nil {
		return nil, err
	}
	for _, s := range n.steps {
		for _, u := range s.units() {
			u.zero()
		}
	}
	n.loaded = len(n.steps)
	return n, nil
}

// Load builds the named backbone from a torchvision state dict, reading
// only the tensors needed up to the deepest of layers (so a file cut after
// layer3 serves layer1..layer3). Each BatchNorm is folded into its conv.
// The state dict is not modified or retained. Errors name the tensor:
// "state dict: tensor layer1.0.conv1.weight missing".
func Load(name string, sd statedict.StateDict, layers []string) (Backbone, error) {
	return load(name, "state dict", sd, layers)
}

// load is Load with the label errors start with (a file name for Open).
func load(name, label string, sd statedict.StateDict, layers []string) (*network, error) {
	n, err := build(name)
	if err != nil {
		return nil, err
	}
	deepest, err := n.depth(layers)
	if err != nil {
		return nil, err
	}
	src := &source{label: label, sd: sd}
	for _, s := range n.steps[:deepest+1] {
		for _, u := range s.units() {
			if err := u.load(src); err != nil {
				return nil, err
			}
		}
	}
	n.loaded = deepest + 1
	return n, nil
}
