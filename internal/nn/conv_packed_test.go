package nn

import (
	"bytes"
	"fmt"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// packedCases reach every branch of convPacked: pixel counts that leave
// tails of 1..47 pixels (16-, 32- and 48-wide panels, masked last
// vectors), depths of one and of several packedKC blocks (the load = 1
// kernels), pointwise and im2col packing, strides, padding, batches, and
// tilings with one and many panels per tile.
var packedCases = []convCase{
	{1, 3, 8, 1, 1, 1, 1, 1, 0, 0, 1, true},      // one pixel
	{1, 5, 16, 4, 4, 1, 1, 1, 0, 0, 1, false},    // 16 pixels: one full 16-wide panel
	{2, 7, 8, 5, 7, 1, 1, 1, 0, 0, 1, true},      // 35: 48-wide panel, masked
	{1, 9, 24, 7, 7, 3, 3, 1, 1, 1, 1, true},     // 49: 48 + 1
	{3, 4, 8, 9, 9, 3, 3, 2, 1, 1, 1, true},      // 25 per image, stride 2
	{1, 3, 64, 23, 21, 7, 7, 2, 3, 3, 1, true},   // ResNet stem shape
	{1, 300, 8, 10, 9, 3, 3, 1, 1, 1, 1, true},   // K = 2700: 11 depth blocks
	{2, 600, 16, 9, 9, 1, 1, 1, 0, 0, 1, true},   // pointwise, K = 600
	{1, 64, 32, 14, 14, 1, 1, 2, 0, 0, 1, false}, // strided 1x1 (downsample)
	{1, 16, 40, 19, 13, 3, 1, 1, 1, 0, 1, true},  // rectangular kernel
	{2, 32, 8, 30, 30, 3, 3, 1, 1, 1, 1, true},   // 900 pixels: many panels per tile
}

func TestConvPackedMatchesReference(t *testing.T) {
	if !packedEnabled {
		t.Skip(noAsm("AVX-512") + ": convPacked is never selected")
	}
	defer SetThreads(SetThreads(0))
	for _, threads := range []int{1, 3} {
		SetThreads(threads)
		{
			for i, tc := range packedCases {
				for _, act := range []Activation{ActNone, ActReLU, ActSiLU, ActSigmoid} {
					t.Run(fmt.Sprintf("threads%d/%v/%v", threads, tc, act), func(t *testing.T) {
						rng := rand.New(rand.NewSource(int64(i)))
						conv := tc.conv(rng)
						if !usePacked(conv) || useWinograd(conv) {
							t.Fatalf("case does not select convPacked")
						}
						x := randTensor(rng, tc.n, tc.inC, tc.h, tc.w)
						checkConv(t, conv, x, conv.ForwardAct(x, act), act, 1e-5)
					})
				}
			}
		}
	}
}

// TestConvPackedWeightCache checks that the packed weights follow
// FoldBatchNorm and a replaced Weight slice.
func TestConvPackedWeightCache(t *testing.T) {
	if !packedEnabled {
		t.Skip(noAsm("AVX-512") + ": convPacked is never selected")
	}
	rng := rand.New(rand.NewSource(9))
	tc := convCase{1, 6, 16, 8, 8, 3, 3, 1, 1, 1, 1, true}
	conv := tc.conv(rng)
	x := randTensor(rng, 1, 6, 8, 8)
	checkConv(t, conv, x, conv.Forward(x), ActNone, 1e-5)
	ones := func(v float32) []float32 {
		s := make([]float32, 16)
		for i := range s {
			s[i] = v + float32(i)/10
		}
		return s
	}
	if err := conv.FoldBatchNorm(ones(0.5), ones(-1), ones(0.1), ones(2), 1e-5); err != nil {
		t.Fatal(err)
	}
	checkConv(t, conv, x, conv.Forward(x), ActNone, 1e-5)
	conv.Weight = randSlice(rng, len(conv.Weight))
	checkConv(t, conv, x, conv.Forward(x), ActNone, 1e-5)
}

// TestConvPackedAgreesWithGemm runs the same convolutions through both
// GEMM paths, the packed kernels and OpenBLAS/gonum tiles.
func TestConvPackedAgreesWithGemm(t *testing.T) {
	if !packedEnabled {
		t.Skip(noAsm("AVX-512") + ": convPacked is never selected")
	}
	for i, tc := range packedCases {
		rng := rand.New(rand.NewSource(int64(i)))
		conv := tc.conv(rng)
		x := randTensor(rng, tc.n, tc.inC, tc.h, tc.w)
		got := conv.Forward(x)
		packedEnabled = false
		want := conv.Forward(x)
		packedEnabled = true
		for j := range want.Data {
			d := float64(got.Data[j] - want.Data[j])
			if d < 0 {
				d = -d
			}
			if d > 1e-4*(1+float64(abs32(want.Data[j]))) {
				t.Fatalf("%v: element %d packed %v, gemm %v", tc, j, got.Data[j], want.Data[j])
			}
		}
	}
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

// BenchmarkPackedKernel times the 8x48 micro-kernel alone on cache-resident
// panels: the ceiling of convPacked on one core.
func BenchmarkPackedKernel(b *testing.B) {
	if !packedEnabled {
		b.Skip(noAsm("AVX-512"))
	}
	for _, kc := range []int{64, 128, 256, 512} {
		b.Run(fmt.Sprintf("kc=%d", kc), func(b *testing.B) {
			rng := rand.New(rand.NewSource(1))
			a, bp := randSlice(rng, kc*packedMR), randSlice(rng, kc*packedNR)
			offs := make([]int32, kc)
			for k := range offs {
				offs[k] = int32(k * packedNR)
			}
			c := make([]float32, packedMR*packedNR)
			cpu := cpuSeconds()
			best := bestCall(b, func() { packedKernel(packedNR, kc, &a[0], &bp[0], &offs[0], &c[0], packedNR, 0xffff, kernelLoad, nil) })
			reportGFLOPs(b, 2*float64(kc*packedMR*packedNR), cpu, best)
		})
	}
}

// BenchmarkConvPacked compares the packed kernels with the OpenBLAS tiles
// on each ungrouped backbone shape, back to back, on one goroutine and on
// Threads().
func BenchmarkConvPacked(b *testing.B) {
	if !packedEnabled {
		b.Skip(noAsm("AVX-512"))
	}
	defer SetThreads(SetThreads(0))
	n := Threads()
	for _, bc := range benchConvs {
		if bc.g != 1 || bc.outC%packedMR != 0 {
			continue
		}
		for _, threads := range []int{1, n} {
			for _, packed := range []bool{false, true} {
				name := "openblas"
				if packed {
					name = "packed"
				}
				b.Run(fmt.Sprintf("%s/t%d/%s", bc.name, threads, name), func(b *testing.B) {
					SetThreads(threads)
					defer func() { packedEnabled = true }()
					packedEnabled = packed
					benchForwardAct(b, bc)
				})
			}
		}
	}
}

// TestAsmUpToDate checks that every assembly file of the package is what
// asmgen writes, and that asmgen writes no file that is not committed, so
// the generator stays the source of truth for the kernels.
func TestAsmUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds and runs asmgen")
	}
	dir := t.TempDir()
	cmd := exec.Command("go", "run", "./asmgen", "-dir", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run ./asmgen: %v\n%s", err, out)
	}
	generated, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	committed, err := filepath.Glob("*.s")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range generated {
		names[filepath.Base(f)] = true
	}
	for _, f := range committed {
		if !names[f] {
			t.Errorf("%s is not written by asmgen: generate it or remove it", f)
		}
	}
	if len(generated) == 0 {
		t.Fatal("asmgen wrote no files")
	}
	for _, f := range generated {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			want, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(name)
			if err != nil {
				t.Fatalf("%v: run go generate ./internal/nn", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s differs from the output of go run ./asmgen: run go generate ./internal/nn", name)
			}
		})
	}
}

// TestPadPhased2D fills the destination with NaN first, so every element
// the copy fails to write shows, and compares with the definition: phase
// (py, px) holds padded pixel (r*s+py, c*s+px) at [r*wph+c]. Rows of 16
// and more columns reach simdSplit2 at stride 2 (both phases, or phase 0
// alone for 1x1 kernels; odd and even padding), which runs with the
// assembly on and off.
func TestPadPhased2D(t *testing.T) {
	defer func(old bool) { simdEnabled = old }(simdEnabled)
	for _, simd := range []bool{false, simdEnabled} {
		simdEnabled = simd
		testPadPhased2D(t)
	}
}

func testPadPhased2D(t *testing.T) {
	nan := float32(math.NaN())
	for _, tc := range []struct{ h, w, k, s, pad int }{
		{5, 7, 3, 1, 1}, {6, 6, 3, 2, 1}, {7, 9, 3, 2, 1}, {11, 10, 7, 2, 3},
		{8, 8, 1, 2, 0}, {9, 7, 1, 2, 0}, {10, 11, 5, 3, 2}, {4, 5, 3, 3, 0}, {3, 3, 5, 1, 2},
		{5, 37, 3, 2, 1}, {4, 56, 3, 2, 1}, {6, 40, 1, 2, 0}, {3, 33, 1, 2, 0},
		{5, 50, 7, 2, 3}, {4, 41, 5, 2, 2}, {3, 35, 3, 1, 1},
	} {
		c := NewConv2D(1, 8, tc.k, tc.s, tc.pad, 1)
		g := newPackedGeometry(c, tc.h, tc.w)
		src := make([]float32, tc.h*tc.w)
		for i := range src {
			src[i] = float32(i + 1)
		}
		dst := make([]float32, g.plane)
		for i := range dst {
			dst[i] = nan
		}
		padPhased2D(dst, src, tc.h, tc.w, tc.pad, tc.pad, tc.s, g)
		for py := 0; py < g.npy; py++ {
			for px := 0; px < g.npx; px++ {
				for r := 0; r < g.hph; r++ {
					for col := 0; col < g.wph; col++ {
						y, x := r*tc.s+py-tc.pad, col*tc.s+px-tc.pad
						want := float32(0)
						if y >= 0 && y < tc.h && x >= 0 && x < tc.w {
							want = src[y*tc.w+x]
						}
						got := dst[(py*g.npx+px)*g.hph*g.wph+r*g.wph+col]
						if got != want {
							t.Fatalf("simd %v, %+v: phase (%d,%d) [%d][%d] = %v, want %v", simdEnabled, tc, py, px, r, col, got, want)
						}
					}
				}
			}
		}
	}
}

// TestPackedKernelFusedBiasReLU checks the kernels' bias and ReLU on one
// depth step against Go's max(v, 0): NaN stays NaN, -0 becomes +0, and
// the lanes past the mask are not written.
func TestPackedKernelFusedBiasReLU(t *testing.T) {
	if !packedEnabled {
		t.Skip(noAsm("AVX-512"))
	}
	nan := float32(math.NaN())
	negZero := float32(math.Copysign(0, -1))
	for _, width := range []int{16, 32, 48} {
		n := width - 3 // masked last vector
		a := []float32{1, -1, 2, 0, 0, 0, 0, 0.5}
		bias := []float32{0, 0.25, -1, 0, 3, 0, 0, 0}
		b := make([]float32, width)
		for j := range b {
			b[j] = float32(j%5) - 2
		}
		b[0], b[1] = nan, negZero
		offs := []int32{0}
		for _, flags := range []int{kernelReLU, kernelBias | kernelReLU, kernelBias} {
			c := make([]float32, 8*width)
			for i := range c {
				c[i] = 99
			}
			packedKernel(width, 1, &a[0], &b[0], &offs[0], &c[0], width, 1<<(n-(width-16))-1, flags, &bias[0])
			for r := 0; r < 8; r++ {
				for j := 0; j < width; j++ {
					got := c[r*width+j]
					if j >= n {
						if got != 99 {
							t.Fatalf("width %d flags %d: row %d lane %d past the mask written (%v)", width, flags, r, j, got)
						}
						continue
					}
					want := a[r] * b[j]
					if flags&kernelBias != 0 {
						want += bias[r]
					}
					if flags&kernelReLU != 0 {
						want = max(want, 0)
					}
					if math.Float32bits(got) != math.Float32bits(want) && !(got != got && want != want) {
						t.Fatalf("width %d flags %d: row %d lane %d = %v (bits %x), want %v (bits %x)", width, flags, r, j, got, math.Float32bits(got), want, math.Float32bits(want))
					}
				}
			}
		}
	}
}

// TestPackedFits checks the int32 bound of the offset table: a 3x3
// stride-2 convolution of 256 channels fits at 224x224 and not at
// 4000x4000 (256 * 4 * 2001^2 > 2^31), which then takes the im2col path.
func TestPackedFits(t *testing.T) {
	c := NewConv2D(256, 64, 3, 2, 1, 1)
	if !packedFits(c, 224, 224) {
		t.Error("224x224 does not fit")
	}
	if packedFits(c, 4000, 4000) {
		t.Error("4000x4000 fits")
	}
	if packedEnabled && c.KernelName(4000, 4000) != "blas" {
		t.Errorf("4000x4000 runs %s, want blas", c.KernelName(4000, 4000))
	}
}

// TestPackedNarrowMatchesWide checks the narrow last panels (1..8
// pixels, one to nine channel blocks, so the multi-block kernels and the
// one-block ones for the blocks left over all run) against the 8x16
// kernel on the same panels, bit for bit: over several depths,
// accumulating onto C or not, with and without bias and ReLU, on values
// holding NaN, ±Inf and -0, and without touching C past the panel.
func TestPackedNarrowMatchesWide(t *testing.T) {
	if !packedEnabled {
		t.Skip(noAsm("AVX-512"))
	}
	rng := rand.New(rand.NewSource(5))
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.Copysign(0, -1)), 0}
	val := func() float32 {
		if rng.Intn(30) == 0 {
			return special[rng.Intn(len(special))]
		}
		return float32(rng.NormFloat64())
	}
	vals := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = val()
		}
		return v
	}
	for _, kl := range []int{1, 7, 96} {
		for _, blocks := range []int{1, 2, 5, 9} {
			for n := 1; n <= packedNarrowMax; n++ {
				for flags := 0; flags < 8; flags++ {
					const ldc, stride = 21, 13
					a := vals(blocks * packedMR * kl)
					// B rows at scattered offsets, as the phased copy's are.
					offs := make([]int32, kl)
					for k := range offs {
						offs[k] = int32(k*stride + rng.Intn(3))
					}
					b := vals(kl*stride + 2 + 16)
					bias := vals(blocks * packedMR)
					c0 := vals(blocks * packedMR * ldc)
					wide, narrow := append([]float32(nil), c0...), append([]float32(nil), c0...)
					for mb := 0; mb < blocks; mb++ {
						packedKernel(16, kl, &a[mb*packedMR*kl], &b[0], &offs[0], &wide[mb*packedMR*ldc], ldc, 1<<n-1, flags, &bias[mb*packedMR])
					}
					packedNarrow(kl, a, 0, blocks, b, &offs[0], narrow, ldc, n, flags, bias)
					for i := range wide {
						if math.Float32bits(wide[i]) != math.Float32bits(narrow[i]) && !(wide[i] != wide[i] && narrow[i] != narrow[i]) {
							t.Fatalf("depth %d, %d blocks, %d pixels, flags %d: C[%d][%d] = %v, the 8x16 kernel gives %v", kl, blocks, n, flags, i/ldc, i%ldc, narrow[i], wide[i])
						}
					}
				}
			}
		}
	}
}

// TestPackedTilingBalanced checks that the tiles of the backbones' packed
// convolutions keep two goroutines equally busy: handed out in order to
// whichever goroutine is free (as parallelFor does), the busier one does
// at most 10% more than half the work (half the channel blocks, rounded
// up, when the work is split by channels alone into an even number of
// groups), and every output row and channel block is in exactly one tile.
func TestPackedTilingBalanced(t *testing.T) {
	defer SetThreads(SetThreads(2))
	cases := []struct {
		name                     string
		m, gridRows, wph, images int
	}{
		{"wr50 layer1 1x1 in", 128, 56, 56, 1},
		{"wr50 layer1 1x1 out", 256, 56, 56, 1},
		{"wr50 layer2 1x1 out", 512, 28, 28, 1},
		{"wr50 layer3 1x1 out", 1024, 14, 14, 1},
		{"wr50 layer2 3x3/2", 256, 28, 29, 1},
		{"r18 stem 7x7/2", 64, 112, 115, 1},
		{"r18 layer2 down 1x1/2", 128, 28, 28, 1},
		{"b5 1x1 expansion 112x112", 144, 112, 112, 1},
		{"b5 1x1 projection 14x14", 176, 14, 14, 1},
		{"b5 1x1 expansion 14x14", 264, 14, 14, 1},
		{"wr50 layer1 1x1 in batch 3", 128, 56, 56, 3},
		{"wr50 layer1 1x1 out batch 8", 256, 56, 56, 8},
		{"wr50 layer3 1x1 out batch 8", 1024, 14, 14, 8},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rows, perImage, mGroups := packedTiling(tc.m, tc.gridRows, tc.wph, tc.images)
			if rows*(perImage-1) >= tc.gridRows || rows*perImage < tc.gridRows {
				t.Fatalf("rows %d x %d tiles do not cover %d grid rows exactly once", rows, perImage, tc.gridRows)
			}
			blocks := tc.m / packedMR
			next, prev := 0, blocks
			for grp := 0; grp < mGroups; grp++ {
				mb0, mb1 := packedGroup(blocks, mGroups, grp)
				if mb0 != next || mb1 <= mb0 {
					t.Fatalf("channel group %d of %d is blocks [%d, %d), want it to start at %d and hold some", grp, mGroups, mb0, mb1, next)
				}
				// Larger groups first, sizes differing by at most one.
				if size := mb1 - mb0; size > prev || size < blocks/mGroups || size > blocks/mGroups+1 {
					t.Fatalf("channel group %d of %d holds %d blocks after one of %d (of %d blocks)", grp, mGroups, size, prev, blocks)
				}
				next, prev = mb1, mb1-mb0
			}
			if next != blocks {
				t.Fatalf("channel groups end at block %d, want %d", next, blocks)
			}
			// Work of each tile in parallelFor's order (channel group
			// fastest), then the two goroutines' loads, each tile going to
			// the one that is free first.
			var load [2]int
			total := 0
			for tile := 0; tile < tc.images*perImage*mGroups; tile++ {
				grp, row := tile%mGroups, (tile/mGroups)%perImage
				r := min(rows, tc.gridRows-row*rows)
				mb0, mb1 := packedGroup(blocks, mGroups, grp)
				b := mb1 - mb0
				work := r * tc.wph * b
				total += work
				if load[0] <= load[1] {
					load[0] += work
				} else {
					load[1] += work
				}
			}
			if want := tc.images * tc.gridRows * tc.wph * blocks; total != want {
				t.Fatalf("tiles hold %d row-pixel-blocks, want %d", total, want)
			}
			// Split by channels alone (one image, one row tile), an even
			// number of groups must share out as evenly as whole blocks
			// allow: 22 blocks in four groups are 6, 6, 5, 5, taken 6+5
			// by either goroutine.
			if busiest := max(load[0], load[1]); tc.images*perImage == 1 && mGroups%2 == 0 && busiest > (blocks+1)/2*tc.gridRows*tc.wph {
				t.Errorf("%d channel groups of %d blocks: the busier goroutine does %d of %d", mGroups, blocks, busiest, total)
			}
			if busiest := max(load[0], load[1]); float64(busiest) > 1.1*float64(total)/2 {
				t.Errorf("rows %d, %d tiles per image, %d channel groups: the busier goroutine does %d of %d (%.2fx an even half)",
					rows, perImage, mGroups, busiest, total, float64(busiest)/(float64(total)/2))
			}
		})
	}
}
