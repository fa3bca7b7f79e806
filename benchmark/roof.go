package benchmark

import (
	"context"
	"time"

	"github.com/padim-go/padim/internal/blas"
)

// roofSize is the side of the square sgemm that measures the machine's
// float32 roof: large enough (17 GFLOP) that packing and thread start-up
// are noise, small enough (48 MiB) to take well under a second.
const roofSize = 2048

// timeSgemmRoof times one roofSize^3 sgemm through internal/blas with
// threads BLAS threads (the median of runs lasting a tenth of minTime, at
// least 200 ms, and at least 3) and returns its GFLOP/s: the rate the
// backbones' achieved GFLOP/s are read against.
func timeSgemmRoof(ctx context.Context, minTime time.Duration, threads int) (float64, error) {
	n := roofSize
	a, b, c := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	for i := range a {
		a[i] = float32(i%13) / 13
		b[i] = float32(i%7) / 7
	}
	blas.SetThreads(threads)
	defer blas.SetThreads(1) // back to single-threaded BLAS under the kernels (see nn.SetThreads)
	d, _, err := timeRuns(ctx, max(minTime/10, 200*time.Millisecond), 3, func() error {
		blas.Sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return roofFLOPs / d.Seconds() / 1e9, nil
}

// roofFLOPs is the sgemm's FLOP count, two per multiply-add.
const roofFLOPs = 2 * float64(roofSize) * roofSize * roofSize
