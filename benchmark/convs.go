package benchmark

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/padim-go/padim/internal/blas"
	"github.com/padim-go/padim/internal/nn"
	"github.com/padim-go/padim/internal/table"
	"github.com/padim-go/padim/internal/tensor"
)

// convShape is one ungrouped convolution of the ResNets at a 224x224
// input, batch 1.
type convShape struct {
	name                       string
	inC, outC, size, k, stride int
}

// resnetConvShapes are the distinct ungrouped convolutions of ResNet-18
// and Wide-ResNet-50-2 up to layer3.
var resnetConvShapes = []convShape{
	{"r18 conv1 7x7/2", 3, 64, 224, 7, 2},
	{"r18 layer1 3x3", 64, 64, 56, 3, 1},
	{"r18 layer2 3x3/2", 64, 128, 56, 3, 2},
	{"r18 layer2 3x3", 128, 128, 28, 3, 1},
	{"r18 layer2 down 1x1/2", 64, 128, 56, 1, 2},
	{"r18 layer3 3x3/2", 128, 256, 28, 3, 2},
	{"r18 layer3 3x3", 256, 256, 14, 3, 1},
	{"wr50 layer1 1x1 in", 64, 128, 56, 1, 1},
	{"wr50 layer1 3x3", 128, 128, 56, 3, 1},
	{"wr50 layer1 1x1 out", 128, 256, 56, 1, 1},
	{"wr50 layer2 1x1 in", 256, 256, 56, 1, 1},
	{"wr50 layer2 3x3/2", 256, 256, 56, 3, 2},
	{"wr50 layer2 1x1 out", 256, 512, 28, 1, 1},
	{"wr50 layer3 3x3", 512, 512, 14, 3, 1},
	{"wr50 layer3 1x1 in", 1024, 512, 14, 1, 1},
	{"wr50 layer3 1x1 out", 512, 1024, 14, 1, 1},
}

// convRow compares one convolution with the bare GEMM it amounts to.
type convRow struct {
	shape               convShape
	kernel              string
	flops               float64
	convTime, sgemmTime time.Duration
}

// timeConvShapes times each ResNet convolution (Conv2D.ForwardAct with
// ReLU, the kernel the backbones use) against one cblas_sgemm call of the
// same M x K x N (OutC x InC*k*k x output pixels) with the BLAS library's
// own threads: how far the convolution kernels are from the GEMM they
// amount to. Each side runs for a tenth of minTime, at least 200 ms.
func timeConvShapes(ctx context.Context, stderr io.Writer, minTime time.Duration) ([]convRow, error) {
	minTime = max(minTime/10, 200*time.Millisecond)
	var rows []convRow
	for _, s := range resnetConvShapes {
		c := nn.NewConv2D(s.inC, s.outC, s.k, s.stride, s.k/2, 1)
		for i := range c.Weight {
			c.Weight[i] = float32(i%97)/970 - 0.05
		}
		x := tensor.New(1, s.inC, s.size, s.size)
		for i := range x.Data {
			x.Data[i] = float32(i%89)/89 - 0.5
		}
		oh, ow := c.OutSize(s.size, s.size)
		m, k, n := s.outC, s.inC*s.k*s.k, oh*ow
		conv, _, err := timeRuns(ctx, minTime, 5, func() error {
			tensor.Release(c.ForwardAct(x, nn.ActReLU))
			return nil
		})
		if err != nil {
			return nil, err
		}
		a, bm, cm := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
		for i := range a {
			a[i] = float32(i%13) / 13
		}
		for i := range bm {
			bm[i] = float32(i%7) / 7
		}
		blas.SetThreads(nn.Threads())
		sg, _, err := timeRuns(ctx, minTime, 5, func() error {
			blas.Sgemm(false, false, m, n, k, 1, a, k, bm, n, 0, cm, n)
			return nil
		})
		blas.SetThreads(1) // back to single-threaded BLAS under the kernels (see nn.SetThreads)
		if err != nil {
			return nil, err
		}
		r := convRow{shape: s, kernel: c.KernelName(s.size, s.size), flops: 2 * float64(m*k*n), convTime: conv, sgemmTime: sg}
		fmt.Fprintf(stderr, "conv  %-22s %-8s %6.1f GFLOP/s, sgemm %6.1f GFLOP/s\n", s.name, r.kernel, r.flops/conv.Seconds()/1e9, r.flops/sg.Seconds()/1e9)
		rows = append(rows, r)
	}
	return rows, nil
}

// convReport renders timeConvShapes' rows; "" when there are none. The
// last column is the convolution's time over the sgemm's: below 1 the
// convolution is faster than the bare GEMM.
func convReport(rows []convRow, threads, rounds int) (string, error) {
	if len(rows) == 0 {
		return "", nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n## Convolutions against the bare GEMM\n\n")
	fmt.Fprintf(&b, "Each ungrouped ResNet convolution (batch 1, bias + ReLU fused, %d threads) against one `cblas_sgemm` of the same OutC x InC*k*k x pixels with %d BLAS threads. ", threads, threads)
	fmt.Fprintf(&b, "FLOPs are the direct convolution's for both, so Winograd rows can exceed the GEMM. Times are medians, the faster of %d rounds for each side; below 1x the convolution is faster than the sgemm.\n\n", rounds)
	t := table.Table{
		Header: []string{"convolution", "kernel", "GFLOP", "conv GFLOP/s", "sgemm GFLOP/s", "conv / sgemm time"},
		Align:  []table.Align{table.Left, table.Left, table.Right, table.Right, table.Right, table.Right},
	}
	for _, r := range rows {
		cv, sg := r.flops/r.convTime.Seconds()/1e9, r.flops/r.sgemmTime.Seconds()/1e9
		t.Append(r.shape.name, r.kernel, fmt.Sprintf("%.3f", r.flops/1e9), fmt.Sprintf("%.1f", cv), fmt.Sprintf("%.1f", sg),
			fmt.Sprintf("%.2fx", r.convTime.Seconds()/r.sgemmTime.Seconds()))
	}
	if err := t.Markdown(&b); err != nil {
		return "", err
	}
	return b.String(), nil
}
