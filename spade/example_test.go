package spade_test

import (
	"fmt"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/internal/tensor"
	"github.com/padim-go/padim/spade"
)

// features builds a one-layer feature batch whose images are constant maps.
func features(values ...float32) backbones.Features {
	t := tensor.New(len(values), 2, 2, 2)
	for n, v := range values {
		for c := 0; c < 2; c++ {
			for i := range t.Channel(n, c) {
				t.Channel(n, c)[i] = v
			}
		}
	}
	return backbones.Features{"layer1": t}
}

func Example() {
	m, err := spade.New(spade.Config{K: 2, PoolLayer: "layer1", PixelLayers: []string{"layer1"}, Height: 4, Width: 4})
	if err != nil {
		panic(err)
	}
	if err := m.AddTrain(features(0, 1, 10)); err != nil {
		panic(err)
	}
	// The test vector (3, 3) is sqrt(2)*2 from (1, 1) and sqrt(2)*3 from
	// (0, 0), its two nearest training images: score sqrt(2)*2.5.
	score, amap, err := m.Score(features(3))
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s\nscore %.4f, map %d pixels, corner %.4f\n", m.Config(), score, len(amap), amap[0])
	// Output:
	// SPADE(K=2, pool=layer1, galleryK=2, pixel=layer1, 4x4, sigma=4)
	// score 3.5355, map 16 pixels, corner 2.8284
}
