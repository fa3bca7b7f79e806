package backbones

import "github.com/padim-go/padim/nchw"

// Layer describes one stage output a backbone can return.
type Layer struct {
	Name     string // "layer1", "block7", ...
	Channels int    // feature channels
	Stride   int    // input pixels per feature cell (4 for layer1 of a ResNet)
}

// Features maps requested layer names to their N x C x H x W outputs.
// Item n of every layer belongs to image n of the input batch.
type Features map[string]*nchw.Tensor

// Backbone is a frozen ImageNet CNN that returns named intermediate feature
// maps. The networks of this package implement it; so can code outside the
// module (see the package examples of padim and spade), since every type in
// the interface is public.
type Backbone interface {
	// Name is the registry name, e.g. "resnet18".
	Name() string
	// Layers lists every stage output Forward can return, shallowest first.
	Layers() []Layer
	// Forward runs x (N x 3 x H x W, ImageNet-normalised) and returns the
	// requested layers. Computation stops after the deepest requested layer.
	Forward(x *nchw.Tensor, layers []string) (Features, error)
}
