package backbones

import (
	"fmt"
	"slices"

	"github.com/padim-go/padim/internal/nn"
	"github.com/padim-go/padim/internal/statedict"
	"github.com/padim-go/padim/internal/tensor"
)

// convUnit is one torch Conv2d, optionally followed by an eval-mode
// BatchNorm2d that is folded into it when weights are loaded. Units are
// built without weights (Weight nil) so that describing an architecture, or
// loading only its first stages, costs no memory for the rest.
type convUnit struct {
	conv *nn.Conv2D
	name string        // torch module path of the conv, e.g. "layer1.0.conv1"
	bn   string        // torch module path of the BatchNorm, "" when there is none
	eps  float64       // the BatchNorm's own eps
	bias bool          // the conv has its own bias (only when bn == "")
	act  nn.Activation // applied right after the conv, fused into it
}

func newUnit(name, bn string, eps float64, act nn.Activation, inC, outC, k, stride, groups int) *convUnit {
	return &convUnit{
		conv: &nn.Conv2D{InC: inC, OutC: outC, KH: k, KW: k, Stride: stride,
			PadH: (k - 1) / 2, PadW: (k - 1) / 2, Groups: groups},
		name: name, bn: bn, eps: eps, act: act,
	}
}

// paramKind says what a state-dict tensor is, so tests can fill it the way
// the fixture script does.
type paramKind int

const (
	kindWeight paramKind = iota
	kindBias
	kindBNWeight
	kindBNBias
	kindBNMean
	kindBNVar
)

// paramSpec is one state-dict tensor a unit reads.
type paramSpec struct {
	name  string
	shape []int
	kind  paramKind
}

// params lists the state-dict tensors this unit reads, in torch order.
func (u *convUnit) params() []paramSpec {
	ps := []paramSpec{{u.name + ".weight", u.conv.WeightShape(), kindWeight}}
	if u.bias {
		ps = append(ps, paramSpec{u.name + ".bias", []int{u.conv.OutC}, kindBias})
	}
	if u.bn != "" {
		c := []int{u.conv.OutC}
		ps = append(ps,
			paramSpec{u.bn + ".weight", c, kindBNWeight},
			paramSpec{u.bn + ".bias", c, kindBNBias},
			paramSpec{u.bn + ".running_mean", c, kindBNMean},
			paramSpec{u.bn + ".running_var", c, kindBNVar})
	}
	return ps
}

// zero gives the unit zero weights and bias, as an untrained module folded
// with an identity BatchNorm would have.
func (u *convUnit) zero() {
	u.conv.Weight = make([]float32, u.conv.OutC*(u.conv.InC/u.conv.Groups)*u.conv.KH*u.conv.KW)
	u.conv.Bias = nil
	if u.bias || u.bn != "" {
		u.conv.Bias = make([]float32, u.conv.OutC)
	}
}

// load copies the unit's tensors out of src (never aliasing them: folding
// rewrites the weights) and folds the BatchNorm.
func (u *convUnit) load(src *source) error {
	ps := u.params()
	w, err := src.get(ps[0])
	if err != nil {
		return err
	}
	u.conv.Weight = slices.Clone(w)
	u.conv.Bias = nil
	if u.bias {
		b, err := src.get(ps[1])
		if err != nil {
			return err
		}
		u.conv.Bias = slices.Clone(b)
	}
	if u.bn == "" {
		return nil
	}
	bn := make([][]float32, 4)
	for i, p := range ps[len(ps)-4:] {
		if bn[i], err = src.get(p); err != nil {
			return err
		}
	}
	for i, v := range bn[3] {
		if !(float64(v)+u.eps > 0) {
			return fmt.Errorf("%s: tensor %s.running_var[%d] = %g gives a non-positive variance", src.label, u.bn, i, v)
		}
	}
	if err := u.conv.FoldBatchNorm(bn[0], bn[1], bn[2], bn[3], u.eps); err != nil {
		return fmt.Errorf("%s: %s: %w", src.label, u.bn, err)
	}
	return nil
}

// forward runs the (folded) convolution and its activation.
func (u *convUnit) forward(x *tensor.Tensor) *tensor.Tensor { return u.conv.ForwardAct(x, u.act) }

// flops counts multiply-adds as two operations, the bias add not at all
// (the usual convention for CNN FLOP counts), for an h x w input. It also
// returns the output size.
func (u *convUnit) flops(h, w int) (float64, int, int) {
	oh, ow := u.conv.OutSize(h, w)
	per := float64(u.conv.InC/u.conv.Groups) * float64(u.conv.KH*u.conv.KW)
	return 2 * per * float64(u.conv.OutC) * float64(oh) * float64(ow), oh, ow
}

// MissingTensorError reports a weights file without a tensor the requested
// layers need, e.g. a file that stops at layer3 asked for layer4. Callers
// tell it from a corrupt file with errors.As.
type MissingTensorError struct {
	File   string // the file (or label) the tensor was looked for in
	Tensor string // the state_dict key, e.g. "layer4.0.conv1.weight"
}

func (e *MissingTensorError) Error() string {
	return fmt.Sprintf("%s: tensor %s missing", e.File, e.Tensor)
}

// source is a state dict being loaded, with the label (file name) every
// error about it starts with.
type source struct {
	label string
	sd    statedict.StateDict
}

// get returns the data of the tensor p names after checking its shape.
func (s *source) get(p paramSpec) ([]float32, error) {
	t, ok := s.sd[p.name]
	if !ok || t == nil {
		return nil, &MissingTensorError{File: s.label, Tensor: p.name}
	}
	if !slices.Equal(t.Shape, p.shape) {
		return nil, fmt.Errorf("%s: tensor %s shape %v want %v", s.label, p.name, t.Shape, p.shape)
	}
	n := 1
	for _, d := range p.shape {
		n *= d
	}
	if len(t.Data) != n {
		return nil, fmt.Errorf("%s: tensor %s has %d values, shape %v needs %d", s.label, p.name, len(t.Data), p.shape, n)
	}
	return t.Data, nil
}
