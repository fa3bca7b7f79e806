package backbones

import "github.com/padim-go/padim/internal/tensor"

// Layer describes one stage output a backbone can return.
type Layer struct {
	Name     string // "layer1", "block7", ...
	Channels int    // feature channels
	Stride   int    // input pixels per feature cell (4 for layer1 of a ResNet)
}

// Features maps requested layer names to their N x C x H x W outputs.
type Features map[string]*tensor.Tensor

// Backbone is a frozen ImageNet CNN that returns named intermediate feature maps.
type Backbone interface {
	// Name is the registry name, e.g. "resnet18".
	Name() string
	// Layers lists every stage output Forward can return, shallowest first.
	Layers() []Layer
	// Forward runs x (N x 3 x H x W, ImageNet-normalised) and returns the
	// requested layers. Computation stops after the deepest requested layer.
	Forward(x *tensor.Tensor, layers []string) (Features, error)
}
