package nchw_test

import (
	"fmt"

	"github.com/padim-go/padim/nchw"
)

// A caller's own buffer becomes a tensor without a copy; Images and
// Channel are views into it.
func ExampleFromData() {
	data := []float32{
		1, 2, 3, 4, // image 0, channel 0 (2 x 2)
		5, 6, 7, 8, // image 1, channel 0
	}
	x, err := nchw.FromData(2, 1, 2, 2, data)
	if err != nil {
		panic(err)
	}
	second := x.Images(1, 2)
	second.Set(0, 0, 1, 1, 80)
	fmt.Println(x, second, x.At(1, 0, 1, 0), x.Channel(1, 0), data[7])
	_, err = nchw.FromData(1, 3, 2, 2, data)
	fmt.Println(err)
	// Output:
	// Tensor[2x1x2x2] Tensor[1x1x2x2] 7 [5 6 7 80] 80
	// nchw: 8 values do not fill shape 1x3x2x2
}
