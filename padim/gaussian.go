package padim

// This file is Section 3 of the PaDiM paper in code:
//
//   3.1 Embedding extraction: each patch position (i, j) of the first
//       layer's grid gets one vector made of the activations of every used
//       layer at the cell that covers (i, j), reduced to d channels.
//   3.2 Learning of the normality: for each position, a Gaussian
//       N(mu_ij, Sigma_ij) over the N training vectors, with
//       Sigma_ij = 1/(N-1) sum_k (x_k - mu)(x_k - mu)^T + eps I, eps = 0.01.
//   3.3 Inference: the anomaly score of a test patch is the Mahalanobis
//       distance M(x) = sqrt((x - mu)^T Sigma^-1 (x - mu)).
//
// Sigma^-1 is never formed: Finalize stores the Cholesky factor U of each
// Sigma (Sigma = U^T U), and M(x) = |y| for the y that solves U^T y = x - mu,
// because (x - mu)^T (U^T U)^-1 (x - mu) = y^T y. Factoring costs a third of
// inverting (LAPACK potrf against potrf + potri), and the float32 factor
// loses less to rounding than a float32 inverse: its condition number is
// the square root of Sigma's.

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync/atomic"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/internal/blas"
)

// ---------------------------------------------------------------------------
// 3.1 Embedding

// channelRef names one channel of one backbone layer.
type channelRef struct {
	layer   string
	channel int
}

// embedding describes how feature maps become patch embedding vectors: which
// layers are joined and which of their concatenated channels are kept.
type embedding struct {
	layers   []string // layers in concatenation order, shallowest first
	channels []int    // per layer, its channel count
	refs     []channelRef
}

// newEmbedding checks the requested layers against the backbone and maps
// the kept global channel indices (0-based over the concatenation
// layer1 | layer2 | layer3) to (layer, channel) pairs.
func newEmbedding(available []backbones.Layer, layers []string, keep []int) (*embedding, error) {
	if len(layers) == 0 {
		return nil, fmt.Errorf("padim: no layers to embed")
	}
	byName := make(map[string]int, len(available))
	depth := make(map[string]int, len(available))
	for i, l := range available {
		byName[l.Name] = l.Channels
		depth[l.Name] = i
	}
	e := &embedding{layers: layers}
	seen := map[string]bool{}
	total := 0
	for k, name := range layers {
		c, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("padim: backbone has no layer %q", name)
		}
		if seen[name] {
			return nil, fmt.Errorf("padim: layer %q listed twice", name)
		}
		// The first layer sets the embedding grid and deeper ones are
		// upsampled onto it, so the order is part of the model.
		if k > 0 && depth[name] < depth[layers[k-1]] {
			return nil, fmt.Errorf("padim: layers %s: layers must go shallow to deep (%s comes before %s in the backbone)",
				strings.Join(layers, ","), name, layers[k-1])
		}
		seen[name] = true
		e.channels = append(e.channels, c)
		total += c
	}
	if keep == nil {
		keep = make([]int, total)
		for i := range keep {
			keep[i] = i
		}
	}
	if err := validateChannels(keep, total); err != nil {
		return nil, err
	}
	for _, g := range keep {
		l := 0
		for g >= e.channels[l] {
			g -= e.channels[l]
			l++
		}
		e.refs = append(e.refs, channelRef{layer: layers[l], channel: g})
	}
	return e, nil
}

// total is the width of the full concatenated embedding.
func (e *embedding) total() int {
	t := 0
	for _, c := range e.channels {
		t += c
	}
	return t
}

// grid validates a backbone output against the embedding and returns the
// batch size and the embedding grid (the first layer's H x W). Every deeper
// layer must tile the grid exactly: its cell (i, j) covers the s x s block
// of first-layer cells (s*i .. s*i+s-1, s*j .. s*j+s-1), which is what the
// reference code's unfold/concat/fold computes.
func (e *embedding) grid(f backbones.Features) (n, h, w int, err error) {
	for k, name := range e.layers {
		t, ok := f[name]
		if !ok || t == nil {
			return 0, 0, 0, fmt.Errorf("padim: backbone returned no %q features", name)
		}
		if t.C != e.channels[k] {
			return 0, 0, 0, fmt.Errorf("padim: layer %q has %d channels, backbone declared %d", name, t.C, e.channels[k])
		}
		if k == 0 {
			n, h, w = t.N, t.H, t.W
			if h == 0 || w == 0 {
				return 0, 0, 0, fmt.Errorf("padim: layer %q has an empty %dx%d grid", name, h, w)
			}
			continue
		}
		if t.N != n {
			return 0, 0, 0, fmt.Errorf("padim: layer %q has batch %d, layer %q has %d", name, t.N, e.layers[0], n)
		}
		if t.H == 0 || t.W == 0 || h%t.H != 0 || w%t.W != 0 || h/t.H != w/t.W {
			return 0, 0, 0, fmt.Errorf("padim: layer %q grid %dx%d does not tile layer %q grid %dx%d by one integer factor",
				name, t.H, t.W, e.layers[0], h, w)
		}
	}
	return n, h, w, nil
}

// gather writes the embedding of image b of the batch f into dst: the
// vector of grid position p = y*w + x starts at dst[p*stride] and holds
// len(refs) values in refs order. Each value is the activation of its layer
// at the cell covering (y, x) (nearest association, no interpolation).
//
// The loops go grid row by grid row, and within a row channel by channel:
// the row's w vectors (w cache lines at most d floats long each) stay in
// L1 while all channels are written into them. Channel-outer order wrote
// one value per cache line per pass, stride floats apart, which in Fit's
// buffer (stride = AccumulateImages*d) meant a TLB miss per value.
func gather[T float32 | float64](f backbones.Features, refs []channelRef, b, h, w int, dst []T, stride int) {
	planes := make([][]float32, len(refs))
	scales := make([]int, len(refs))
	widths := make([]int, len(refs))
	for j, r := range refs {
		t := f[r.layer]
		planes[j], scales[j], widths[j] = t.Channel(b, r.channel), h/t.H, t.W
	}
	for y := 0; y < h; y++ {
		row := dst[y*w*stride:]
		for j, plane := range planes {
			s := scales[j]
			src := plane[(y/s)*widths[j] : (y/s+1)*widths[j]]
			out := row[j:]
			for x := 0; x < w; x++ {
				out[x*stride] = T(src[x/s])
			}
		}
	}
}

// ---------------------------------------------------------------------------
// 3.2 The per-position Gaussian

// packedLen is the number of entries of the upper triangle of a d x d
// matrix, stored row by row: (0,0) (0,1) .. (0,d-1) (1,1) .. (d-1,d-1).
func packedLen(d int) int { return d * (d + 1) / 2 }

// gramPanel is the number of rows in each panel of a position's sum of
// outer products S (see GaussianAccumulator).
const gramPanel = 32

// gramLen is the number of float64 one position's S takes in the panel
// layout: panel j holds rows r0 = j*gramPanel .. r1-1 from column r0 on,
// an (r1-r0) x (d-r0) row-major block. The few entries left of the
// diagonal inside each panel are the mirror images of entries above it and
// are never read; they cost about 6% more than the packed triangle for
// d = 550.
func gramLen(d int) int {
	n := 0
	for r0 := 0; r0 < d; r0 += gramPanel {
		n += (min(r0+gramPanel, d) - r0) * (d - r0)
	}
	return n
}

// GaussianAccumulator streams embedding vectors into per-position
// sufficient statistics, so a Gaussian can be fitted without holding the
// training set: for each position p it keeps, in float64,
//
//	shift_p              the first vector seen at p,
//	sum_p  = sum_k (x_k - shift_p),
//	S_p    = sum_k (x_k - shift_p)(x_k - shift_p)^T  (upper triangle, by panels).
//
// Subtracting a shift leaves the covariance unchanged and avoids the
// cancellation of the textbook S - N mu mu^T when the mean is large
// relative to the spread.
//
// S_p is stored as row panels (see gramLen) so that each panel is exactly
// the output of one matrix product, which adds into it in place: no Go
// loop touches S during accumulation.
type GaussianAccumulator struct {
	positions, dim int
	workers        int
	n              int
	shift          []float64 // positions x dim
	sum            []float64 // positions x dim
	sxx            []float64 // positions x gramLen(dim); nil once Finalize has used it
}

// NewGaussianAccumulator prepares statistics for the given number of grid
// positions and embedding dimension d. workers goroutines share the
// positions (<= 0 means GOMAXPROCS); results do not depend on it.
func NewGaussianAccumulator(positions, dim, workers int) (*GaussianAccumulator, error) {
	if positions <= 0 || dim <= 0 {
		return nil, fmt.Errorf("padim: accumulator needs positive positions and dimension, got %d and %d", positions, dim)
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	return &GaussianAccumulator{
		positions: positions, dim: dim, workers: workers,
		shift: make([]float64, positions*dim),
		sum:   make([]float64, positions*dim),
		sxx:   make([]float64, positions*gramLen(dim)),
	}, nil
}

// N is the number of vectors accumulated per position.
func (a *GaussianAccumulator) N() int { return a.n }

// Add accumulates k vectors per position, laid out position-major:
// vector i of position p is x[(p*k+i)*dim : (p*k+i+1)*dim]. x is not
// modified.
func (a *GaussianAccumulator) Add(x []float64, k int) error { return accumulate(a, x, k) }

// AddFloat32 is Add for float32 vectors (the backbone's precision), which
// are widened to float64 per position: a buffer of embeddings takes half
// the memory of a float64 one.
func (a *GaussianAccumulator) AddFloat32(x []float32, k int) error { return accumulate(a, x, k) }

func accumulate[T float32 | float64](a *GaussianAccumulator, x []T, k int) error {
	d := a.dim
	if a.sxx == nil {
		return fmt.Errorf("padim: accumulator already finalized: its sums became the covariance factors")
	}
	if k <= 0 || len(x) != a.positions*k*d {
		return fmt.Errorf("padim: accumulator got %d values for %d positions x %d vectors x %d dims", len(x), a.positions, k, d)
	}
	first := a.n == 0
	forPositions(a.positions, a.workers, func() func(p int) {
		rows := make([]float64, k*d) // this worker's shifted vectors
		return func(p int) {
			xs := x[p*k*d : (p+1)*k*d]
			shift := a.shift[p*d : (p+1)*d]
			if first {
				for c := range shift {
					shift[c] = float64(xs[c])
				}
			}
			sum := a.sum[p*d : (p+1)*d]
			for i := 0; i < k; i++ {
				v, r := xs[i*d:(i+1)*d], rows[i*d:(i+1)*d]
				for c := range r {
					r[c] = float64(v[c]) - shift[c]
					sum[c] += r[c]
				}
			}
			addOuterProducts(a.sxx[p*gramLen(d):(p+1)*gramLen(d)], rows, k, d, first)
		}
	})
	a.n += k
	return nil
}

// addOuterProducts adds xs^T xs (xs is k x d) to s, one position's S in
// the panel layout: each panel is one matrix product with beta = 1, which
// reads and writes s once, with no Go loop over s. The first call overwrites (beta = 0), so the
// fresh pages of s are only written, never read.
func addOuterProducts(s, xs []float64, k, d int, first bool) {
	beta := 1.0
	if first {
		beta = 0
	}
	off := 0
	for r0 := 0; r0 < d; r0 += gramPanel {
		r1 := min(r0+gramPanel, d)
		w := d - r0
		blas.Dgemm(true, false, r1-r0, w, k, 1, xs[r0:], d, xs[r0:], d, beta, s[off:off+(r1-r0)*w], w)
		off += (r1 - r0) * w
	}
}

// Finalize computes, for every position, the mean and the Cholesky factor
// of the regularised covariance
//
//	mu    = shift + sum/N
//	Sigma = (S - N m m^T)/(N-1) + eps I,   m = sum/N (the shifted mean),
//	Sigma = U^T U,                         U upper triangular,
//
// factored once here (blas.CholeskyUpper) in float64 and stored as
// float32: mean is positions x dim, chol is positions x packedLen(dim), the
// packed U of each position. A mean or factor entry that is not finite in
// float32 is an error naming the position.
//
// Finalize consumes the accumulator: the factors are written into the
// memory that held the sums S (see gaussian_finalize.go), so a fit never
// holds S and the factors side by side. Later calls to Add or Finalize
// return an error, also after a failed Finalize.
//
// N = 1 is an error: the unbiased covariance 1/(N-1) is undefined and a
// model of one image would be eps I around it, which is not what the paper
// fits. N < d is fine: eps I makes Sigma positive definite.
func (a *GaussianAccumulator) Finalize(eps float64) (mean, chol []float32, err error) {
	if a.sxx == nil {
		return nil, nil, fmt.Errorf("padim: accumulator already finalized: its sums became the covariance factors")
	}
	if a.n < 2 {
		return nil, nil, fmt.Errorf("padim: need at least 2 training images for a covariance, have %d", a.n)
	}
	if !(eps >= 0) {
		return nil, nil, fmt.Errorf("padim: covariance regulariser %v must be >= 0", eps)
	}
	d, n := a.dim, float64(a.n)
	out := a.takeSums()
	mean = make([]float32, a.positions*d)
	var failed, notFinite atomic.Int64 // first positions found, else -1
	failed.Store(-1)
	notFinite.Store(-1)
	forPositions(a.positions, a.workers, func() func(p int) {
		cov := make([]float64, d*d)
		m := make([]float64, d)
		return func(p int) {
			sum := a.sum[p*d : (p+1)*d]
			shift := a.shift[p*d : (p+1)*d]
			for c := range m {
				m[c] = sum[c] / n
				mean[p*d+c] = float32(shift[c] + m[c])
				if !finite32(mean[p*d+c]) {
					notFinite.CompareAndSwap(-1, int64(p))
				}
			}
			s := out.sums(p)
			off := 0
			for r0 := 0; r0 < d; r0 += gramPanel {
				r1 := min(r0+gramPanel, d)
				w := d - r0
				for r := r0; r < r1; r++ {
					row := s[off+(r-r0)*w : off+(r-r0+1)*w] // columns r0..d-1
					for c := r; c < d; c++ {
						cov[r*d+c] = (row[c-r0] - n*m[r]*m[c]) / (n - 1)
					}
					cov[r*d+r] += eps
				}
				off += (r1 - r0) * w
			}
			out.doneReading(p)
			if err := blas.CholeskyUpper(d, cov); err != nil {
				failed.CompareAndSwap(-1, int64(p))
				return
			}
			dst := out.factor(p)
			off = 0
			for r := 0; r < d; r++ {
				for c := r; c < d; c++ {
					v := float32(cov[r*d+c])
					if !finite32(v) {
						notFinite.CompareAndSwap(-1, int64(p))
					}
					dst[off+c-r] = v
				}
				off += d - r
			}
		}
	})
	if p := failed.Load(); p >= 0 {
		return nil, nil, fmt.Errorf("padim: covariance at grid position %d is not positive definite (eps %v)", p, eps)
	}
	if p := notFinite.Load(); p >= 0 {
		return nil, nil, fmt.Errorf("padim: Gaussian fit: the mean or covariance factor at grid position %d is infinite or NaN in float32 (features too large?)", p)
	}
	return mean, out.factors(), nil
}

// finite32 reports whether v is neither infinite nor NaN. Finalize checks
// every value as it converts it, while it is in cache: a scan of the 1.9 GB
// of results afterwards took 1.5 s for Wide-ResNet-50-2.
func finite32(v float32) bool { return v-v == 0 }

// ---------------------------------------------------------------------------
// 3.3 Mahalanobis distance

// Mahalanobis returns the distance of k test vectors per position to each
// position's Gaussian. x is position-major (vector i of position p at
// x[(p*k+i)*dim:]); mean and chol are as Finalize returns them. The result
// is image-major: dist[i*positions+p].
//
// Per position it forms D = X - mu (k x d, one test vector per row) and
// solves Y U = D (blas.StrsmRightUpper, one triangular solve for all k
// vectors): row i of Y is y_i^T with U^T y_i = x_i - mu, so M(x_i) = |y_i|.
// U is copied row by row out of its packed form into a full d x d matrix
// whose strict lower triangle is never read.
func Mahalanobis(ctx context.Context, mean, chol []float32, positions, dim int, x []float32, k, workers int) ([]float32, error) {
	d := dim
	if positions <= 0 || d <= 0 || k <= 0 {
		return nil, fmt.Errorf("padim: Mahalanobis needs positive sizes, got %d positions, dim %d, %d vectors", positions, d, k)
	}
	if len(mean) != positions*d || len(chol) != positions*packedLen(d) || len(x) != positions*k*d {
		return nil, fmt.Errorf("padim: Mahalanobis got %d means, %d covariance-factor entries, %d values for %d positions x %d vectors x %d dims",
			len(mean), len(chol), len(x), positions, k, d)
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	dist := make([]float32, k*positions)
	forPositions(positions, workers, func() func(p int) {
		upper := make([]float32, d*d)
		y := make([]float32, k*d)
		return func(p int) {
			if ctx.Err() != nil {
				return
			}
			unpackUpper(chol[p*packedLen(d):(p+1)*packedLen(d)], d, upper)
			mu := mean[p*d : (p+1)*d]
			xs := x[p*k*d : (p+1)*k*d]
			for i := 0; i < k; i++ {
				row, v := y[i*d:(i+1)*d], xs[i*d:(i+1)*d]
				for c := range row {
					row[c] = v[c] - mu[c]
				}
			}
			blas.StrsmRightUpper(k, d, upper, d, y, d)
			for i := 0; i < k; i++ {
				var ss float64
				for _, v := range y[i*d : (i+1)*d] {
					ss += float64(v) * float64(v)
				}
				dist[i*positions+p] = float32(math.Sqrt(ss))
			}
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return dist, nil
}

// unpackUpper copies a packed upper triangle into the upper triangle of
// the full d x d matrix full; the strict lower triangle is not touched.
func unpackUpper(packed []float32, d int, full []float32) {
	off := 0
	for r := 0; r < d; r++ {
		copy(full[r*d+r:r*d+d], packed[off:off+d-r])
		off += d - r
	}
}
