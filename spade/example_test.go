package spade_test

import (
	"fmt"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/nchw"
	"github.com/padim-go/padim/spade"
)

// blockMeans is a backbone written outside the module, with its exported
// API only: its one layer, "layer1", averages each input channel over
// 2 x 2 pixel blocks.
type blockMeans struct{}

func (blockMeans) Name() string { return "blockmeans" }

func (blockMeans) Layers() []backbones.Layer {
	return []backbones.Layer{{Name: "layer1", Channels: 2, Stride: 2}}
}

func (blockMeans) Forward(x *nchw.Tensor, layers []string) (backbones.Features, error) {
	if len(layers) != 1 || layers[0] != "layer1" || x.C != 2 || x.H%2 != 0 || x.W%2 != 0 {
		return nil, fmt.Errorf("blockmeans: cannot give layers %v for a %v input", layers, x)
	}
	out := nchw.New(x.N, x.C, x.H/2, x.W/2)
	for n := 0; n < x.N; n++ {
		for c := 0; c < x.C; c++ {
			for y := 0; y < x.H; y++ {
				for xx := 0; xx < x.W; xx++ {
					out.Data[out.Index(n, c, y/2, xx/2)] += x.At(n, c, y, xx) / 4
				}
			}
		}
	}
	return backbones.Features{"layer1": out}, nil
}

// images returns a batch of 2-channel 4 x 4 images, image n constant
// values[n], whose features are therefore constant too.
func images(values ...float32) *nchw.Tensor {
	x := nchw.New(len(values), 2, 4, 4)
	for n, v := range values {
		for c := 0; c < 2; c++ {
			for i := range x.Channel(n, c) {
				x.Channel(n, c)[i] = v
			}
		}
	}
	return x
}

// SPADE takes features: here from a backbone implemented outside the
// module. Three training images, then one test image.
func Example() {
	m, err := spade.New(spade.Config{K: 2, PoolLayer: "layer1", PixelLayers: []string{"layer1"}, Height: 4, Width: 4})
	if err != nil {
		panic(err)
	}
	bb := blockMeans{}
	train, err := bb.Forward(images(0, 1, 10), []string{"layer1"})
	if err != nil {
		panic(err)
	}
	if err := m.AddTrain(train); err != nil {
		panic(err)
	}
	// The test vector (3, 3) is sqrt(2)*2 from (1, 1) and sqrt(2)*3 from
	// (0, 0), its two nearest training images: score sqrt(2)*2.5.
	test, err := bb.Forward(images(3), []string{"layer1"})
	if err != nil {
		panic(err)
	}
	score, amap, err := m.Score(test)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s\nscore %.4f, map %d pixels, corner %.4f\n", m.Config(), score, len(amap), amap[0])
	// Output:
	// SPADE(K=2, pool=layer1, galleryK=2, pixel=layer1, 4x4, sigma=4)
	// score 3.5355, map 16 pixels, corner 2.8284
}
