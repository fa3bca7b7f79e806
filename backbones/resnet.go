package backbones

import (
	"fmt"

	"github.com/padim-go/padim/internal/nn"
	"github.com/padim-go/padim/internal/tensor"
)

// resnetBNEps is torch.nn.BatchNorm2d's default eps, which torchvision's
// ResNets keep.
const resnetBNEps = 1e-5

// resnetStem is conv1 (7x7, stride 2) + bn1 + ReLU + 3x3/2 max pool.
type resnetStem struct{ conv *convUnit }

func (s *resnetStem) units() []*convUnit { return []*convUnit{s.conv} }
func (s *resnetStem) outChannels() int   { return s.conv.conv.OutC }

func (s *resnetStem) forward(x *tensor.Tensor) *tensor.Tensor {
	c := s.conv.forward(x)
	out := nn.MaxPool2D(c, 3, 2, 1)
	tensor.Release(c)
	return out
}

func (s *resnetStem) flops(h, w int) (float64, int, int) {
	f, oh, ow := s.conv.flops(h, w)
	return f, (oh+2-3)/2 + 1, (ow+2-3)/2 + 1
}

// resBlock is torchvision's BasicBlock (two 3x3 convs) or Bottleneck
// (1x1, 3x3 with the stride, 1x1): ReLU after every conv but the last,
// then the identity or downsample branch is added and ReLU applied.
type resBlock struct {
	convs []*convUnit
	down  *convUnit // downsample.0 / downsample.1, nil for the identity
}

// forward leaves x alone and releases every tensor it made except the
// one it returns (see network.Forward). The last conv (whose act is
// ActNone) adds the identity or downsample branch and applies ReLU as it
// finishes each part of its output (nn.Conv2D.ForwardAddReLU), so the
// branch is computed first.
func (b *resBlock) forward(x *tensor.Tensor) *tensor.Tensor {
	id := x
	if b.down != nil {
		id = b.down.forward(x)
	}
	h := x
	for i, c := range b.convs {
		var next *tensor.Tensor
		if i == len(b.convs)-1 {
			next = c.conv.ForwardAddReLU(h, id)
		} else {
			next = c.forward(h)
		}
		if h != x {
			tensor.Release(h)
		}
		h = next
	}
	if id != x {
		tensor.Release(id)
	}
	return h
}

// resStage is one of layer1..layer4: a run of blocks.
type resStage struct{ blocks []*resBlock }

func (s *resStage) units() []*convUnit {
	var us []*convUnit
	for _, b := range s.blocks {
		us = append(us, b.convs...)
		if b.down != nil {
			us = append(us, b.down)
		}
	}
	return us
}

func (s *resStage) outChannels() int {
	b := s.blocks[len(s.blocks)-1]
	return b.convs[len(b.convs)-1].conv.OutC
}

func (s *resStage) forward(x *tensor.Tensor) *tensor.Tensor {
	h := x
	for _, b := range s.blocks {
		next := b.forward(h)
		if h != x {
			tensor.Release(h)
		}
		h = next
	}
	return h
}

func (s *resStage) flops(h, w int) (float64, int, int) {
	var total float64
	for _, b := range s.blocks {
		ih, iw := h, w
		for _, c := range b.convs {
			var f float64
			f, h, w = c.flops(h, w)
			total += f
		}
		if b.down != nil {
			f, _, _ := b.down.flops(ih, iw)
			total += f
		}
	}
	return total, h, w
}

// resnetConfig is what distinguishes torchvision's ResNet variants.
type resnetConfig struct {
	bottleneck bool
	blocks     [4]int
	// widthPerGroup is 64 for plain ResNets and 128 for the wide ones: the
	// bottleneck's inner width is planes * widthPerGroup / 64.
	widthPerGroup int
}

// newResNet lays a ResNet out exactly as torchvision.models.resnet does
// (the "v1.5" variant: a bottleneck's stride sits on its 3x3 conv), with
// layers layer1..layer4. Weights are not allocated.
func newResNet(name string, cfg resnetConfig) *network {
	n := &network{name: name}
	n.steps = append(n.steps, &resnetStem{newUnit("conv1", "bn1", resnetBNEps, nn.ActReLU, 3, 64, 7, 2, 1)})
	expansion := 1
	if cfg.bottleneck {
		expansion = 4
	}
	in := 64
	for li, count := range cfg.blocks {
		planes := 64 << li
		stride := 1
		if li > 0 {
			stride = 2
		}
		stage := &resStage{}
		for bi := 0; bi < count; bi++ {
			p := fmt.Sprintf("layer%d.%d.", li+1, bi)
			s := 1
			if bi == 0 {
				s = stride
			}
			b := &resBlock{}
			if cfg.bottleneck {
				width := planes * cfg.widthPerGroup / 64
				b.convs = []*convUnit{
					newUnit(p+"conv1", p+"bn1", resnetBNEps, nn.ActReLU, in, width, 1, 1, 1),
					newUnit(p+"conv2", p+"bn2", resnetBNEps, nn.ActReLU, width, width, 3, s, 1),
					newUnit(p+"conv3", p+"bn3", resnetBNEps, nn.ActNone, width, planes*expansion, 1, 1, 1),
				}
			} else {
				b.convs = []*convUnit{
					newUnit(p+"conv1", p+"bn1", resnetBNEps, nn.ActReLU, in, planes, 3, s, 1),
					newUnit(p+"conv2", p+"bn2", resnetBNEps, nn.ActNone, planes, planes, 3, 1, 1),
				}
			}
			if s != 1 || in != planes*expansion {
				b.down = newUnit(p+"downsample.0", p+"downsample.1", resnetBNEps, nn.ActNone, in, planes*expansion, 1, s, 1)
			}
			in = planes * expansion
			stage.blocks = append(stage.blocks, b)
		}
		n.steps = append(n.steps, stage)
		n.addLayer(fmt.Sprintf("layer%d", li+1))
	}
	return n
}
