package backbones

import (
	"fmt"
	"math"
	"sync/atomic"

	"github.com/padim-go/padim/internal/nn"
	"github.com/padim-go/padim/internal/tensor"
)

// effnetBNEps is the eps torchvision 0.14 gives every BatchNorm of
// EfficientNet-B0..B7 (norm_layer = partial(BatchNorm2d, eps=0.001,
// momentum=0.01); the momentum only matters in training).
const effnetBNEps = 1e-3

// effnetStem is features.0: 3x3/2 conv + BN + SiLU.
type effnetStem struct{ conv *convUnit }

func (s *effnetStem) units() []*convUnit                      { return []*convUnit{s.conv} }
func (s *effnetStem) outChannels() int                        { return s.conv.conv.OutC }
func (s *effnetStem) forward(x *tensor.Tensor) *tensor.Tensor { return s.conv.forward(x) }
func (s *effnetStem) flops(h, w int) (float64, int, int)      { return s.conv.flops(h, w) }

// mbconv is torchvision's MBConv block: optional 1x1 expansion (+BN+SiLU),
// depthwise kxk with the stride (+BN+SiLU), squeeze-and-excitation, 1x1
// projection (+BN), and the residual when shape is kept. Stochastic depth
// is the identity in eval mode, so it does not appear.
type mbconv struct {
	expand   *convUnit // nil when the expand ratio is 1
	dw       *convUnit
	fc1, fc2 *convUnit // SE reduce / expand, 1x1 with bias
	project  *convUnit
	residual bool
	// split caches the expansion and depthwise convolutions cut into
	// channel groups for the last input size (see expandDepthwise).
	split atomic.Pointer[mbconvSplit]
}

func (b *mbconv) units() []*convUnit {
	var us []*convUnit
	if b.expand != nil {
		us = append(us, b.expand)
	}
	return append(us, b.dw, b.fc1, b.fc2, b.project)
}

func (b *mbconv) outChannels() int { return b.project.conv.OutC }

// forward leaves x alone and releases every tensor it made except the
// one it returns (see network.Forward).
//
// A batch runs through the block one image at a time, each image's
// output written into its place in the batch's output: the block's
// expanded maps are 6 times the size of its input, and an image's keep
// to a few MB (at 224x224) where the whole batch's would not fit the
// caches. Run on the whole batch of 8, every block took 4-65% more time
// per image than at batch 1 (one goroutine, the 112x112 and 56x56 blocks
// worst). With several goroutines, each takes whole images (as many as
// divide evenly among them; the rest run one by one with the kernels
// split over the goroutines), which spares the hand-over between them at
// every kernel.
func (b *mbconv) forward(x *tensor.Tensor) *tensor.Tensor {
	oh, ow := b.dw.conv.OutSize(x.H, x.W)
	out := tensor.NewScratch(x.N, b.outChannels(), oh, ow)
	whole := x.N - x.N%nn.Threads()
	nn.ForEachGroup(whole, func(i int) { b.forwardImage(x.Image(i), out.Image(i)) })
	for i := whole; i < x.N; i++ {
		b.forwardImage(x.Image(i), out.Image(i))
	}
	return out
}

// forwardImage runs the block on one image x, writing out.
func (b *mbconv) forwardImage(x, out *tensor.Tensor) {
	d, pooled := b.expandDepthwise(x)
	se := nn.SqueezeExcite{Reduce: b.fc1.conv, Expand: b.fc2.conv}
	b.project.conv.ForwardActInto(se.ForwardPooled(d, pooled), out, b.project.act)
	tensor.Release(d)
	if b.residual {
		nn.Add(out, x)
	}
}

// expandDepthwise runs the expansion (when there is one) and the
// depthwise convolution, each with its SiLU, on one image x, and returns
// the result with its channel means (nn.GlobalAvgPool), the input of the
// squeeze-and-excitation.
//
// The expanded maps are 6 times the size of x: 3 MB and more per image
// in the 112x112 and 56x56 blocks, more than a core's 2 MB L2, so written
// whole by the expansion they come back from L3 when the depthwise
// convolution reads them. Instead the two run on one group of channels at
// a time (splitGroupBytes of expanded maps), the depthwise convolution
// reading each group while it is still in L2, and the group's means taken
// while its output is. Every output value is computed exactly as by the
// whole convolutions.
func (b *mbconv) expandDepthwise(x *tensor.Tensor) (d, pooled *tensor.Tensor) {
	if b.expand == nil {
		d = b.dw.forward(x)
		return d, nn.GlobalAvgPool(d)
	}
	sp := b.splitFor(x.H, x.W)
	if len(sp.expand) == 1 {
		h := b.expand.forward(x)
		d = b.dw.forward(h)
		tensor.Release(h)
		return d, nn.GlobalAvgPool(d)
	}
	oh, ow := b.dw.conv.OutSize(x.H, x.W)
	d = tensor.NewScratch(1, b.dw.conv.OutC, oh, ow)
	pooled = tensor.New(1, b.dw.conv.OutC, 1, 1)
	nn.ForEachGroup(len(sp.expand), func(i int) {
		e, g, c0 := sp.expand[i], sp.expand[i].OutC, sp.first[i]
		h := tensor.NewScratch(1, g, x.H, x.W)
		e.ForwardActInto(x, h, b.expand.act)
		dg := &tensor.Tensor{N: 1, C: g, H: oh, W: ow, Data: d.Data[c0*oh*ow : (c0+g)*oh*ow]}
		sp.dw[i].ForwardActInto(h, dg, b.dw.act)
		tensor.Release(h)
		copy(pooled.Data[c0:c0+g], nn.GlobalAvgPool(dg).Data)
	})
	return d, pooled
}

// splitGroupBytes is the size of expanded maps per channel group: an
// eighth of a core's L2, so that the group's maps, its depthwise output
// and the input rows the expansion streams all stay there. Groups of 128
// KB, 512 KB and 1 MB measured within the noise of this size.
const splitGroupBytes = 256 << 10

// mbconvSplit is a block's expansion and depthwise convolution cut into
// the same channel groups, each group's convolutions sharing the block's
// weights (sub-slices, not copies).
type mbconvSplit struct {
	h, w, threads int      // the input size and nn.Threads() the groups were cut for
	expandW, dwW  *float32 // &Weight[0] of the whole convolutions
	expand, dw    []*nn.Conv2D
	first         []int // first channel of each group
}

// splitFor returns the channel groups for an h x w input, cutting them on
// first use (and again when the weights or the thread count changed).
// The groups hold whole multiples of 8 channels (the packed GEMM's
// tiles), about splitGroupBytes of maps each, and come in a multiple of
// nn.Threads(), so that no goroutine waits long for the last one.
func (b *mbconv) splitFor(h, w int) *mbconvSplit {
	e, dw := b.expand.conv, b.dw.conv
	threads := nn.Threads()
	if sp := b.split.Load(); sp != nil && sp.h == h && sp.w == w && sp.threads == threads &&
		sp.expandW == &e.Weight[0] && sp.dwW == &dw.Weight[0] {
		return sp
	}
	sp := &mbconvSplit{h: h, w: w, threads: threads, expandW: &e.Weight[0], dwW: &dw.Weight[0]}
	groups := ceilDiv(e.OutC*h*w*4, splitGroupBytes)
	if groups > 1 {
		groups = ceilDiv(groups, threads) * threads
	}
	g := ceilDiv(ceilDiv(e.OutC, groups), 8) * 8
	for c0 := 0; c0 < e.OutC; c0 += g {
		n := min(g, e.OutC-c0)
		sp.expand = append(sp.expand, channelSlice(e, c0, n))
		sp.dw = append(sp.dw, channelSlice(dw, c0, n))
		sp.first = append(sp.first, c0)
	}
	b.split.Store(sp)
	return sp
}

// ceilDiv is a/b rounded up, for positive a and b.
func ceilDiv(a, b int) int { return (a + b - 1) / b }

// channelSlice is output channels [c0, c0+n) of c as a convolution of its
// own, sharing c's weights; a depthwise c gives a depthwise one over
// those channels.
func channelSlice(c *nn.Conv2D, c0, n int) *nn.Conv2D {
	per := len(c.Weight) / c.OutC
	s := &nn.Conv2D{InC: c.InC, OutC: n, KH: c.KH, KW: c.KW, Stride: c.Stride, PadH: c.PadH, PadW: c.PadW, Groups: c.Groups,
		Weight: c.Weight[c0*per : (c0+n)*per : (c0+n)*per]}
	if c.Groups == c.InC && c.Groups > 1 {
		s.InC, s.Groups = n, n
	}
	if c.Bias != nil {
		s.Bias = c.Bias[c0 : c0+n : c0+n]
	}
	return s
}

func (b *mbconv) flops(h, w int) (float64, int, int) {
	var total float64
	if b.expand != nil {
		f, _, _ := b.expand.flops(h, w)
		total += f
	}
	f, oh, ow := b.dw.flops(h, w)
	total += f
	f1, _, _ := b.fc1.flops(1, 1)
	f2, _, _ := b.fc2.flops(1, 1)
	fp, _, _ := b.project.flops(oh, ow)
	return total + f1 + f2 + fp, oh, ow
}

// makeDivisible is torchvision's _make_divisible(v, 8): round to the
// nearest multiple of 8, never below 8 or below 90% of v.
func makeDivisible(v float64) int {
	const d = 8
	n := max(d, int(v+d/2)/d*d)
	if float64(n) < 0.9*v {
		n += d
	}
	return n
}

// effnetStage is one row of the EfficientNet-B0 table (Tan & Le 2019,
// Table 1) as torchvision's _efficientnet_conf lists it.
type effnetStage struct {
	expand, kernel, stride, in, out, layers int
}

var effnetB0Stages = []effnetStage{
	{1, 3, 1, 32, 16, 1},
	{6, 3, 2, 16, 24, 2},
	{6, 5, 2, 24, 40, 2},
	{6, 3, 2, 40, 80, 3},
	{6, 5, 1, 80, 112, 3},
	{6, 5, 2, 112, 192, 4},
	{6, 3, 1, 192, 320, 1},
}

// newEfficientNet lays out torchvision's EfficientNet scaled by width and
// depth (B5: 1.6, 2.2) up to features.7; features.8 (the 1x1 head conv)
// and the classifier are not needed for feature extraction. Layers are
// block0..blockN (every MBConv output, flattened over features.1..7, from
// 0) and stage1..stage7 (the output of features.1..7, which equals its last
// block).
func newEfficientNet(name string, width, depth float64) *network {
	n := &network{name: name}
	stem := makeDivisible(32 * width)
	n.steps = append(n.steps, &effnetStem{newUnit("features.0.0", "features.0.1", effnetBNEps, nn.ActSiLU, 3, stem, 3, 2, 1)})
	k := 0
	for si, st := range effnetB0Stages {
		in, out := makeDivisible(float64(st.in)*width), makeDivisible(float64(st.out)*width)
		layers := int(math.Ceil(float64(st.layers) * depth))
		for bi := 0; bi < layers; bi++ {
			stride := st.stride
			if bi > 0 {
				in, stride = out, 1
			}
			p := fmt.Sprintf("features.%d.%d.block.", si+1, bi)
			exp := makeDivisible(float64(in * st.expand))
			sq := max(1, in/4)
			b := &mbconv{residual: stride == 1 && in == out}
			i := 0
			if st.expand != 1 {
				b.expand = newUnit(fmt.Sprintf("%s%d.0", p, i), fmt.Sprintf("%s%d.1", p, i), effnetBNEps, nn.ActSiLU, in, exp, 1, 1, 1)
				i++
			}
			b.dw = newUnit(fmt.Sprintf("%s%d.0", p, i), fmt.Sprintf("%s%d.1", p, i), effnetBNEps, nn.ActSiLU, exp, exp, st.kernel, stride, exp)
			i++
			b.fc1 = newUnit(fmt.Sprintf("%s%d.fc1", p, i), "", 0, nn.ActNone, exp, sq, 1, 1, 1)
			b.fc2 = newUnit(fmt.Sprintf("%s%d.fc2", p, i), "", 0, nn.ActNone, sq, exp, 1, 1, 1)
			b.fc1.bias, b.fc2.bias = true, true
			i++
			b.project = newUnit(fmt.Sprintf("%s%d.0", p, i), fmt.Sprintf("%s%d.1", p, i), effnetBNEps, nn.ActNone, exp, out, 1, 1, 1)
			n.steps = append(n.steps, b)
			n.addLayer(fmt.Sprintf("block%d", k))
			k++
		}
		n.addLayer(fmt.Sprintf("stage%d", si+1))
	}
	return n
}
