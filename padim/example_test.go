package padim_test

import (
	"context"
	"fmt"

	"github.com/padim-go/padim/padim"
)

// Fitting a one-dimensional Gaussian at a single position by hand and
// scoring two points: the training values 1 and 3 give mean 2 and variance
// 2 + 0.01, so 5 lies 3/sqrt(2.01) = 2.116 standard deviations away.
func ExampleGaussianAccumulator() {
	acc, _ := padim.NewGaussianAccumulator(1, 1, 1)
	acc.Add([]float64{1, 3}, 2)
	mean, inv, _ := acc.Finalize(0.01)
	dist, _ := padim.Mahalanobis(context.Background(), mean, inv, 1, 1, []float32{5, 2}, 2, 1)
	fmt.Printf("mean %.1f, distances %.3f\n", mean[0], dist)
	// Output: mean 2.0, distances [2.116 0.000]
}

func ExampleRandomChannels() {
	idx, _ := padim.RandomChannels(448, 100, 0)
	fmt.Println(len(idx), idx[0] < idx[1])
	// Output: 100 true
}
