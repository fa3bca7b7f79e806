package nn_test

import (
	"fmt"

	"github.com/padim-go/padim/internal/nn"
	"github.com/padim-go/padim/internal/tensor"
)

// A 3x3 box filter with a bias and a fused ReLU on a 1-channel 3x3 image:
// each output is bias + the sum of the (zero-padded) neighbourhood.
func ExampleConv2D_ForwardAct() {
	conv := nn.NewConv2D(1, 1, 3, 1, 1, 1)
	for i := range conv.Weight {
		conv.Weight[i] = 1
	}
	conv.Bias = []float32{-20}
	x, _ := tensor.FromData(1, 1, 3, 3, []float32{
		1, 2, 3,
		4, 5, 6,
		7, 8, 9,
	})
	y := conv.ForwardAct(x, nn.ActReLU)
	for r := 0; r < 3; r++ {
		fmt.Println(y.Data[r*3 : r*3+3])
	}
	// Output:
	// [0 1 0]
	// [7 25 13]
	// [4 19 8]
}

func ExampleMaxPool2D() {
	x, _ := tensor.FromData(1, 1, 4, 4, []float32{
		1, 2, 3, 4,
		5, 6, 7, 8,
		9, 10, 11, 12,
		13, 14, 15, 16,
	})
	fmt.Println(nn.MaxPool2D(x, 3, 2, 1).Data)
	// Output: [6 8 14 16]
}

func ExampleExpf() {
	fmt.Println(nn.Expf(0), nn.Expf(1), nn.Expf(100), nn.Expf(-200))
	// Output: 1 2.7182817 +Inf 0
}
