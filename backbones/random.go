package backbones

import (
	"math"
	"math/rand/v2"
)

// NewRandom returns the named backbone with deterministic pseudo-random
// weights: each convolution's weights are drawn from a normal distribution
// with He (Kaiming) scaling, std = sqrt(2 / fan_in), fan_in = in channels
// per group x kernel area, and small normal biases (std 0.01), from a PCG
// stream seeded by seed. The same name and seed always give the same
// network.
//
// It exists for timing and memory measurements (padim bench): zero weights
// (New) make every feature map constant, so Gaussians fitted on them are
// degenerate and anomaly scores meaningless, while the speed of a forward
// pass does not depend on the weight values. The activations keep a
// roughly constant scale through the ReLU stacks, as He initialisation is
// designed to; they are not ImageNet features.
func NewRandom(name string, seed uint64) (Backbone, error) {
	n, err := build(name)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x9ad1))
	for _, s := range n.steps {
		for _, u := range s.units() {
			u.zero()
			c := u.conv
			fanIn := c.InC / c.Groups * c.KH * c.KW
			std := math.Sqrt(2 / float64(fanIn))
			for i := range c.Weight {
				c.Weight[i] = float32(std * rng.NormFloat64())
			}
			for i := range c.Bias {
				c.Bias[i] = float32(0.01 * rng.NormFloat64())
			}
		}
	}
	n.loaded = len(n.steps)
	return n, nil
}
