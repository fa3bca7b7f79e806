package padim_test

import (
	"context"
	"fmt"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/nchw"
	"github.com/padim-go/padim/padim"
)

// blockMeans is a backbone written outside the module, with its exported
// API only: "fine" averages each channel over 2 x 2 pixel blocks, "coarse"
// over 4 x 4 blocks.
type blockMeans struct{}

func (blockMeans) Name() string { return "blockmeans" }

func (blockMeans) Layers() []backbones.Layer {
	return []backbones.Layer{{Name: "fine", Channels: 3, Stride: 2}, {Name: "coarse", Channels: 3, Stride: 4}}
}

func (bb blockMeans) Forward(x *nchw.Tensor, layers []string) (backbones.Features, error) {
	f := backbones.Features{}
	for _, name := range layers {
		s := map[string]int{"fine": 2, "coarse": 4}[name]
		if s == 0 || x.H%s != 0 || x.W%s != 0 {
			return nil, fmt.Errorf("blockmeans: no layer %q for a %v input", name, x)
		}
		out := nchw.New(x.N, x.C, x.H/s, x.W/s)
		for n := 0; n < x.N; n++ {
			for c := 0; c < x.C; c++ {
				for y := 0; y < x.H; y++ {
					for xx := 0; xx < x.W; xx++ {
						i := out.Index(n, c, y/s, xx/s)
						out.Data[i] += x.At(n, c, y, xx) / float32(s*s)
					}
				}
			}
		}
		f[name] = out
	}
	return f, nil
}

// images returns a batch of 8 x 8 RGB images; image k is a deterministic
// texture that varies with k.
func images(ks ...int) *nchw.Tensor {
	x := nchw.New(len(ks), 3, 8, 8)
	for n, k := range ks {
		for c := 0; c < 3; c++ {
			for y := 0; y < 8; y++ {
				for xx := 0; xx < 8; xx++ {
					x.Set(n, c, y, xx, float32((k*7+c*3+y*5+xx*11)%13)/13)
				}
			}
		}
	}
	return x
}

// A Fitter takes features, not files: here they come from a backbone
// implemented outside the module, two training batches of four images.
// The model then scores features of a normal image and of the same image
// with a bright 4 x 4 patch in its top-left corner.
func ExampleFitter() {
	bb := blockMeans{}
	fitter, err := padim.NewFitter(padim.FitConfig{Layers: []string{"fine", "coarse"}, D: 4, Seed: 1}, bb.Name(), bb.Layers())
	if err != nil {
		panic(err)
	}
	for _, batch := range [][]int{{0, 1, 2, 3}, {4, 5, 6, 7}} {
		f, err := bb.Forward(images(batch...), fitter.Layers())
		if err != nil {
			panic(err)
		}
		if err := fitter.Add(f); err != nil {
			panic(err)
		}
	}
	m, err := fitter.Model()
	if err != nil {
		panic(err)
	}
	test := images(2, 2)
	for c := 0; c < 3; c++ {
		for y := 0; y < 4; y++ {
			for x := 0; x < 4; x++ {
				test.Set(1, c, y, x, 3)
			}
		}
	}
	f, err := bb.Forward(test, m.Header.Layers)
	if err != nil {
		panic(err)
	}
	res, err := m.ScoreFeatures(context.Background(), f, test.H, test.W)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d training images, %dx%d patch grid, d = %d\n", m.Header.NTrain, m.Header.GridH, m.Header.GridW, m.Header.D)
	fmt.Printf("normal image: map %dx%d, score %.2f\n", res[0].H, res[0].W, res[0].Score)
	fmt.Printf("spotted image: score %.2f\n", res[1].Score)
	// Model.Score runs the backbone itself and gives the same maps.
	same, err := m.Score(context.Background(), bb, test)
	if err != nil {
		panic(err)
	}
	fmt.Println("Score agrees with ScoreFeatures:", same[1].Score == res[1].Score)
	// Output:
	// 8 training images, 4x4 patch grid, d = 4
	// normal image: map 8x8, score 0.79
	// spotted image: score 21.13
	// Score agrees with ScoreFeatures: true
}
