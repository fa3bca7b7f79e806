package backbones_test

import (
	"fmt"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/internal/tensor"
)

func Example() {
	// New gives zero weights; Load or Open give real ones.
	b, err := backbones.New("resnet18")
	if err != nil {
		fmt.Println(err)
		return
	}
	x := tensor.New(1, 3, 224, 224) // an ImageNet-normalised image
	feats, err := b.Forward(x, []string{"layer1", "layer2", "layer3"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, l := range []string{"layer1", "layer2", "layer3"} {
		fmt.Println(l, feats[l])
	}
	// Output:
	// layer1 Tensor[1x64x56x56]
	// layer2 Tensor[1x128x28x28]
	// layer3 Tensor[1x256x14x14]
}

func ExampleLookup() {
	s, err := backbones.Lookup("efficientnet_b5")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, name := range s.PaDiMLayers {
		for _, l := range s.Layers {
			if l.Name == name {
				fmt.Printf("%s: %d channels, stride %d\n", l.Name, l.Channels, l.Stride)
			}
		}
	}
	// Output:
	// block6: 40 channels, stride 4
	// block19: 128 channels, stride 16
	// block25: 176 channels, stride 16
}
