package nn

import (
	"fmt"
	"math"
	"math/rand"
	"syscall"
	"testing"
	"time"

	"github.com/padim-go/padim/internal/blas"
	"github.com/padim-go/padim/internal/tensor"
)

// benchConv is one convolution of a backbone at a 224x224 input, batch 1.
// scripts/bench_torch_conv.py times the same list in PyTorch.
type benchConv struct {
	name                     string
	inC, outC, size, k, s, g int
}

var benchConvs = []benchConv{
	{"r18_conv1_7x7s2", 3, 64, 224, 7, 2, 1},
	{"r18_l1_3x3", 64, 64, 56, 3, 1, 1},
	{"r18_l2_3x3s2", 64, 128, 56, 3, 2, 1},
	{"r18_l2_3x3", 128, 128, 28, 3, 1, 1},
	{"r18_l2_down1x1s2", 64, 128, 56, 1, 2, 1},
	{"r18_l3_3x3s2", 128, 256, 28, 3, 2, 1},
	{"r18_l3_3x3", 256, 256, 14, 3, 1, 1},
	{"wr50_l1_1x1a", 64, 128, 56, 1, 1, 1},
	{"wr50_l1_3x3", 128, 128, 56, 3, 1, 1},
	{"wr50_l1_1x1b", 128, 256, 56, 1, 1, 1},
	{"wr50_l2_1x1a", 256, 256, 56, 1, 1, 1},
	{"wr50_l2_3x3s2", 256, 256, 56, 3, 2, 1},
	{"wr50_l2_1x1b", 256, 512, 28, 1, 1, 1},
	{"wr50_l3_3x3", 512, 512, 14, 3, 1, 1},
	{"wr50_l3_1x1a", 1024, 512, 14, 1, 1, 1},
	{"wr50_l3_1x1b", 512, 1024, 14, 1, 1, 1},
	{"b5_stem_3x3s2", 3, 48, 224, 3, 2, 1},
	{"b5_exp1x1_112", 24, 144, 112, 1, 1, 1},
	{"b5_proj1x1_28", 384, 64, 28, 1, 1, 1},
	{"b5_dw3x3_112", 48, 48, 112, 3, 1, 48},
	{"b5_dw3x3s2_112", 144, 144, 112, 3, 2, 144},
	{"b5_dw3x3_56", 240, 240, 56, 3, 1, 240},
	{"b5_dw5x5s2_56", 240, 240, 56, 5, 2, 240},
	{"b5_dw5x5_28", 384, 384, 28, 5, 1, 384},
	{"b5_dw3x3_14", 768, 768, 14, 3, 1, 768},
	{"b5_dw5x5_14", 1056, 1056, 14, 5, 1, 1056},
}

func (bc benchConv) conv() *Conv2D {
	rng := rand.New(rand.NewSource(1))
	c := NewConv2D(bc.inC, bc.outC, bc.k, bc.s, bc.k/2, bc.g)
	c.Weight = randSlice(rng, len(c.Weight))
	c.Bias = randSlice(rng, bc.outC)
	return c
}

// flops is 2 x multiply-adds of one forward pass.
func (bc benchConv) flops() float64 {
	c := bc.conv()
	oh, ow := c.OutSize(bc.size, bc.size)
	return 2 * float64(bc.outC*oh*ow) * float64(bc.inC/bc.g*bc.k*bc.k)
}

// cpuSeconds is the user+system CPU time of the whole process so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// bestCall runs f b.N times and returns its fastest single call. On a
// shared machine, another tenant slows some calls down but rarely all of
// them, so the fastest of a few dozen calls is the steadiest measure of
// the kernel itself; reportGFLOPs reports it as best-GFLOP/s.
func bestCall(b *testing.B, f func()) time.Duration {
	best := time.Duration(math.MaxInt64)
	for i := 0; i < b.N; i++ {
		t := time.Now()
		f()
		best = min(best, time.Since(t))
	}
	return best
}

// reportGFLOPs reports throughput per wall second and per CPU second since
// cpuStart, and per second of the fastest call (best, from bestCall). The machine is shared, so wall time swings with the other
// tenants' load; CPU time measures the kernel's own efficiency (it still
// counts OpenBLAS threads spinning while they wait for work).
func reportGFLOPs(b *testing.B, flops, cpuStart float64, best time.Duration) {
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if cpu := cpuSeconds() - cpuStart; cpu > 0 {
		b.ReportMetric(flops*float64(b.N)/cpu/1e9, "GFLOP/cpu-s")
	}
	b.ReportMetric(flops/best.Seconds()/1e9, "best-GFLOP/s")
}

// BenchmarkConv times Conv2D.ForwardAct (bias + ReLU fused) per shape.
func BenchmarkConv(b *testing.B) {
	for _, bc := range benchConvs {
		b.Run(bc.name, func(b *testing.B) { benchForwardAct(b, bc) })
	}
}

// benchForwardAct times ForwardAct with ReLU on bc's shape at batch 1,
// releasing each output as the backbones do, after one warm-up call that
// packs the weights.
func benchForwardAct(b *testing.B, bc benchConv) {
	c := bc.conv()
	x := randTensor(rand.New(rand.NewSource(2)), 1, bc.inC, bc.size, bc.size)
	tensor.Release(c.ForwardAct(x, ActReLU))
	b.ResetTimer()
	cpu := cpuSeconds()
	best := bestCall(b, func() { tensor.Release(c.ForwardAct(x, ActReLU)) })
	reportGFLOPs(b, bc.flops(), cpu, best)
}

// BenchmarkSgemm times the bare GEMM each non-depthwise BenchmarkConv shape
// reduces to (OutC x K times K x OH*OW), as one cblas_sgemm call with
// OpenBLAS's own threads: the ceiling the convolutions are measured against.
func BenchmarkSgemm(b *testing.B) {
	defer blas.SetThreads(1)
	blas.SetThreads(Threads())
	for _, bc := range benchConvs {
		if bc.g != 1 {
			continue
		}
		b.Run(bc.name, func(b *testing.B) {
			oh := (bc.size+2*(bc.k/2)-bc.k)/bc.s + 1
			m, n, k := bc.outC, oh*oh, bc.inC*bc.k*bc.k
			rng := rand.New(rand.NewSource(3))
			w, cols, out := randSlice(rng, m*k), randSlice(rng, k*n), make([]float32, m*n)
			cpu := cpuSeconds()
			best := bestCall(b, func() { blas.Sgemm(false, false, m, n, k, 1, w, k, cols, n, 0, out, n) })
			reportGFLOPs(b, bc.flops(), cpu, best)
		})
	}
}

// BenchmarkConvThreading compares the two ways of using both cores on the
// GEMM convolutions: Go goroutines over column tiles with single-threaded
// OpenBLAS (the default, "tiles"), or one goroutine with OpenBLAS
// threading each call ("openblas").
func BenchmarkConvThreading(b *testing.B) {
	defer SetThreads(SetThreads(0))
	n := Threads()
	for _, mode := range []string{"tiles", "openblas"} {
		for _, bc := range benchConvs {
			if bc.g != 1 {
				continue
			}
			b.Run(mode+"/"+bc.name, func(b *testing.B) {
				if mode == "tiles" {
					SetThreads(n)
				} else {
					SetThreads(1)
					blas.SetThreads(n)
				}
				c := bc.conv()
				x := randTensor(rand.New(rand.NewSource(2)), 1, bc.inC, bc.size, bc.size)
				b.ResetTimer()
				cpu := cpuSeconds()
				best := bestCall(b, func() { tensor.Release(c.ForwardAct(x, ActReLU)) })
				reportGFLOPs(b, bc.flops(), cpu, best)
			})
		}
	}
}

// benchElementwise times f on a fresh copy of random data each round:
// applied to its own output, SiLU would drive values into denormals and
// time the FPU's slow path instead.
func benchElementwise(b *testing.B, f func(*tensor.Tensor) *tensor.Tensor) {
	src := randTensor(rand.New(rand.NewSource(4)), 1, 144, 112, 112)
	x := src.Clone()
	b.SetBytes(int64(4 * len(x.Data)))
	for i := 0; i < b.N; i++ {
		copy(x.Data, src.Data)
		f(x)
	}
}

func BenchmarkSiLU(b *testing.B)    { benchElementwise(b, SiLU) }
func BenchmarkSigmoid(b *testing.B) { benchElementwise(b, Sigmoid) }
func BenchmarkReLU(b *testing.B)    { benchElementwise(b, ReLU) }

func BenchmarkMaxPoolStem(b *testing.B) {
	x := randTensor(rand.New(rand.NewSource(5)), 1, 64, 112, 112)
	b.SetBytes(int64(4 * len(x.Data)))
	cpu := cpuSeconds()
	for i := 0; i < b.N; i++ {
		tensor.Release(MaxPool2D(x, 3, 2, 1)) // as the ResNet stem does
	}
	b.ReportMetric((cpuSeconds()-cpu)/float64(b.N)*1e3, "cpu-ms/op")
}

// resNet18Stack is torchvision's ResNet-18 up to layer3 (what PaDiM uses)
// with random weights and BatchNorm already folded: the whole feature
// extraction cost of the resnet18 backbone, for profiling.
type resNet18Stack struct {
	stem   *Conv2D
	blocks []basicBlock
}

type basicBlock struct{ conv1, conv2, down *Conv2D }

func newResNet18Stack() *resNet18Stack {
	rng := rand.New(rand.NewSource(6))
	conv := func(in, out, k, s int) *Conv2D {
		c := NewConv2D(in, out, k, s, k/2, 1)
		c.Weight = randSlice(rng, len(c.Weight))
		for i := range c.Weight {
			c.Weight[i] *= 0.05 // keep activations in range through the stack
		}
		c.Bias = randSlice(rng, out)
		return c
	}
	r := &resNet18Stack{stem: conv(3, 64, 7, 2)}
	in := 64
	for _, stage := range []struct{ out, stride int }{{64, 1}, {128, 2}, {256, 2}} {
		for i := 0; i < 2; i++ {
			s := stage.stride
			if i > 0 {
				s = 1
			}
			blk := basicBlock{conv1: conv(in, stage.out, 3, s), conv2: conv(stage.out, stage.out, 3, 1)}
			if s != 1 || in != stage.out {
				blk.down = conv(in, stage.out, 1, s)
			}
			r.blocks = append(r.blocks, blk)
			in = stage.out
		}
	}
	return r
}

func (r *resNet18Stack) forward(x *tensor.Tensor) *tensor.Tensor {
	x = MaxPool2D(r.stem.ForwardAct(x, ActReLU), 3, 2, 1)
	for _, blk := range r.blocks {
		identity := x
		if blk.down != nil {
			identity = blk.down.Forward(x)
		}
		x = AddReLU(blk.conv2.Forward(blk.conv1.ForwardAct(x, ActReLU)), identity)
	}
	return x
}

// BenchmarkResNet18Stack is one 224x224 image through ResNet-18 conv1..layer3.
func BenchmarkResNet18Stack(b *testing.B) {
	r := newResNet18Stack()
	x := randTensor(rand.New(rand.NewSource(7)), 1, 3, 224, 224)
	r.forward(x)
	b.ResetTimer()
	cpu := cpuSeconds()
	for i := 0; i < b.N; i++ {
		r.forward(x)
	}
	b.ReportMetric((cpuSeconds()-cpu)/float64(b.N)*1e3, "cpu-ms/op")
}

// BenchmarkBiasAct times the bias + activation pass convGemm runs over
// each output row of a GEMM tile, single-threaded as convGemm calls it,
// with each kernel set this CPU runs (go, avx2, avx512) back to back. The
// tile is 64 rows of 1024 floats, in L2 as a tile just out of Sgemm is;
// each round first restores it from a copy (also in L2; its time is
// included) so that SiLU does not run on its own output.
func BenchmarkBiasAct(b *testing.B) {
	const rows, cols = 64, 1024
	src := randSlice(rand.New(rand.NewSource(8)), rows*cols)
	d := make([]float32, len(src))
	for _, act := range []Activation{ActNone, ActReLU, ActSiLU, ActSigmoid} {
		for _, k := range simdKernelSets() {
			b.Run(act.String()+"/"+k.name, func(b *testing.B) {
				b.SetBytes(int64(4 * len(d)))
				k.run(func() {
					for i := 0; i < b.N; i++ {
						copy(d, src)
						for r := 0; r < rows; r++ {
							biasAct(d[r*cols:(r+1)*cols], 0.25, act)
						}
					}
				})
			})
		}
	}
}

// winogradBenchConvs are the 3x3 stride-1 convolutions of benchConvs, the
// shapes Winograd can take.
func winogradBenchConvs() []benchConv {
	var s []benchConv
	for _, bc := range benchConvs {
		if bc.k == 3 && bc.s == 1 && bc.g == 1 {
			s = append(s, bc)
		}
	}
	return s
}

// BenchmarkWinograd compares, A/B back to back per shape, the im2col +
// GEMM kernel, the packed implicit GEMM (where it runs), Winograd
// F(2x2, 3x3) and, where its kernels run, F(4x4, 3x3) on every 3x3
// stride-1 backbone convolution at batch 1 and 8 (bias + ReLU fused).
// GFLOP/s counts the direct convolution's multiply-adds for all, so it
// compares time.
func BenchmarkWinograd(b *testing.B) {
	kernels := map[string]func(*Conv2D, *tensor.Tensor, *tensor.Tensor, Activation){
		"im2col": convGemm, "packed": convPacked, "winograd": convWinograd,
		"winograd4": func(c *Conv2D, x, out *tensor.Tensor, act Activation) { convWinograd4Residual(c, x, out, act, nil) }}
	for _, bc := range winogradBenchConvs() {
		for _, batch := range []int{1, 8} {
			for _, kernel := range []string{"im2col", "packed", "winograd", "winograd4"} {
				if kernel == "packed" && !usePacked(bc.conv()) {
					continue
				}
				if kernel == "winograd4" && !(winograd512 && usePacked(bc.conv()) && bc.size%4 == 0) {
					continue
				}
				b.Run(fmt.Sprintf("%s/n%d/%s", bc.name, batch, kernel), func(b *testing.B) {
					c := bc.conv()
					x := randTensor(rand.New(rand.NewSource(2)), batch, bc.inC, bc.size, bc.size)
					out := tensor.New(batch, bc.outC, bc.size, bc.size)
					run := kernels[kernel]
					run(c, x, out, ActReLU)
					b.ResetTimer()
					cpu := cpuSeconds()
					best := bestCall(b, func() { run(c, x, out, ActReLU) })
					reportGFLOPs(b, float64(batch)*bc.flops(), cpu, best)
				})
			}
		}
	}
}

// BenchmarkWinogradCols sweeps winogradMaxCols, the tiles per block, on
// the Winograd shapes at batch 8 (at batch 1 the late planes have too few
// tiles for the bound to matter).
func BenchmarkWinogradCols(b *testing.B) {
	defer func(old int) { winogradMaxCols = old }(winogradMaxCols)
	for _, bc := range winogradBenchConvs() {
		for _, cols := range []int{32, 64, 128, 256, 512} {
			b.Run(fmt.Sprintf("%s/cols%d", bc.name, cols), func(b *testing.B) {
				winogradMaxCols = cols
				c := bc.conv()
				x := randTensor(rand.New(rand.NewSource(2)), 8, bc.inC, bc.size, bc.size)
				out := tensor.New(8, bc.outC, bc.size, bc.size)
				convWinograd(c, x, out, ActReLU)
				b.ResetTimer()
				cpu := cpuSeconds()
				best := bestCall(b, func() { convWinograd(c, x, out, ActReLU) })
				reportGFLOPs(b, 8*bc.flops(), cpu, best)
			})
		}
	}
}

// BenchmarkWinogradColdWeights times each Winograd shape at batch 1 with
// its transformed weights in cache (warm, as BenchmarkWinograd does) and
// out of it (cold: a 128 MB buffer is walked before each call, then the
// input and output are touched again). In a network pass the input was
// just written and the weights were last read a whole pass ago, so cold
// is the closer picture where the network's weights exceed the last-level
// cache (Wide-ResNet-50-2's layer3 transforms are 16 MB per convolution).
// best-GFLOP/s counts the direct convolution's FLOPs; only the call is
// timed, not the eviction.
func BenchmarkWinogradColdWeights(b *testing.B) {
	evict := make([]float32, 32<<20)
	for _, bc := range winogradBenchConvs() {
		for _, cold := range []bool{false, true} {
			name := "warm"
			if cold {
				name = "cold"
			}
			b.Run(bc.name+"/"+name, func(b *testing.B) {
				c := bc.conv()
				x := randTensor(rand.New(rand.NewSource(2)), 1, bc.inC, bc.size, bc.size)
				out := tensor.New(1, bc.outC, bc.size, bc.size)
				convWinograd(c, x, out, ActReLU)
				best := time.Duration(math.MaxInt64)
				for i := 0; i < b.N; i++ {
					if cold {
						b.StopTimer()
						for j := 0; j < len(evict); j += 16 { // one float per 64-byte line
							evict[j]++
						}
						var sum float32
						for _, v := range x.Data {
							sum += v
						}
						for j := range out.Data {
							out.Data[j] = sum
						}
						b.StartTimer()
					}
					t := time.Now()
					convWinograd(c, x, out, ActReLU)
					best = min(best, time.Since(t))
				}
				b.ReportMetric(bc.flops()/best.Seconds()/1e9, "best-GFLOP/s")
			})
		}
	}
}

// BenchmarkSqueezeExcite times EfficientNet-B5's squeeze-and-excitation
// on a block of its fifth stage (1056 channels of 14x14, squeezed to 44):
// two convolutions on 1x1 maps, their activations and the scaling.
func BenchmarkSqueezeExcite(b *testing.B) {
	rng := rand.New(rand.NewSource(6))
	const c, sq = 1056, 44
	se := SqueezeExcite{
		Reduce: &Conv2D{InC: c, OutC: sq, KH: 1, KW: 1, Stride: 1, Groups: 1, Weight: randSlice(rng, c*sq), Bias: randSlice(rng, sq)},
		Expand: &Conv2D{InC: sq, OutC: c, KH: 1, KW: 1, Stride: 1, Groups: 1, Weight: randSlice(rng, c*sq), Bias: randSlice(rng, c)},
	}
	src := randTensor(rng, 1, c, 14, 14)
	x := src.Clone()
	pooled := GlobalAvgPool(src)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		copy(x.Data, src.Data)
		se.ForwardPooled(x, pooled)
	}
}
