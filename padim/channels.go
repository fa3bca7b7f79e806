package padim

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/padim-go/padim/internal/blas"
	"github.com/padim-go/padim/internal/filekind"
)

// Selection is how the d embedding channels are chosen (Section 3.1 and
// Table II of the paper). It is a string so that model headers keep their
// JSON; in a FitConfig the empty value means SelectRandom.
type Selection string

// Channel selection methods.
const (
	// SelectRandom keeps d channels drawn uniformly without replacement
	// with a seeded generator, the paper's default ("Rd").
	SelectRandom Selection = "random"
	// SelectIndices keeps an explicit list of channel indices.
	SelectIndices Selection = "indices"
	// SelectPCA projects the full embedding on the top-d principal axes of
	// the training embeddings, the paper's alternative to the random draw.
	SelectPCA Selection = "pca"
)

// Validate returns an error naming the allowed methods unless s is one of
// them. The empty value is not accepted: FitConfig replaces it by
// SelectRandom before validating, and a model header must say.
func (s Selection) Validate() error {
	switch s {
	case SelectRandom, SelectIndices, SelectPCA:
		return nil
	}
	return fmt.Errorf("channel selection %q: want one of %s, %s, %s", s, SelectRandom, SelectIndices, SelectPCA)
}

// RandomChannels draws d distinct indices out of 0..total-1 with a PCG
// generator seeded by seed, and returns them sorted ascending.
//
// The reference code keeps the draw order of Python's random.sample; order
// does not matter for PaDiM because the Mahalanobis distance is invariant to
// permuting the coordinates consistently, so they are sorted here for
// memory locality. The sequence is defined by this function alone (partial
// Fisher-Yates over PCG(seed, 0x5041446946) with rejection sampling), so it
// does not change with Go releases; the model file records the indices
// anyway.
func RandomChannels(total, d int, seed uint64) ([]int, error) {
	if d <= 0 || d > total {
		return nil, fmt.Errorf("padim: cannot draw %d channels out of %d", d, total)
	}
	src := rand.NewPCG(seed, 0x5041446946) // "PADiF"
	perm := make([]int, total)
	for i := range perm {
		perm[i] = i
	}
	for i := 0; i < d; i++ {
		j := i + int(boundedUint64(src, uint64(total-i)))
		perm[i], perm[j] = perm[j], perm[i]
	}
	out := perm[:d:d]
	slices.Sort(out)
	return out, nil
}

// boundedUint64 returns a uniform value in [0, n) by rejection, so the
// draw is unbiased and fixed by the PCG stream alone.
func boundedUint64(src *rand.PCG, n uint64) uint64 {
	limit := -n % n // 2^64 mod n: values below it would bias the modulo
	for {
		v := src.Uint64()
		if v >= limit {
			return v % n
		}
	}
}

// validateChannels checks that indices are in range and distinct.
func validateChannels(idx []int, total int) error {
	if len(idx) == 0 {
		return fmt.Errorf("padim: empty channel selection")
	}
	seen := make(map[int]int, len(idx))
	for i, c := range idx {
		if c < 0 || c >= total {
			return fmt.Errorf("padim: channel index %d (entry %d) outside 0..%d", c, i, total-1)
		}
		if j, dup := seen[c]; dup {
			return fmt.Errorf("padim: channel index %d appears at entries %d and %d", c, j, i)
		}
		seen[c] = i
	}
	return nil
}

// ReadChannelIndices reads a channel selection file: one 0-based index per
// line, blank lines and lines starting with '#' ignored. It checks every
// index is within 0..total-1 and appears once, and returns them in file
// order.
func ReadChannelIndices(path string, total int) ([]int, error) {
	f, _, err := filekind.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var idx []int
	line := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		v, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %q is not a channel index", path, line, s)
		}
		idx = append(idx, v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := validateChannels(idx, total); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return idx, nil
}

// covarianceAccumulator is the pooled channel covariance of full-width
// embeddings over all images and positions, the input of PCA.
type covarianceAccumulator struct {
	dim   int
	n     int
	shift []float64
	sum   []float64
	sxx   []float64 // dim x dim, upper triangle
	rows  []float64 // scratch: one image's positions x dim
}

func newCovarianceAccumulator(dim int) *covarianceAccumulator {
	return &covarianceAccumulator{dim: dim, sum: make([]float64, dim), sxx: make([]float64, dim*dim)}
}

// add accumulates the rows x dim block x (one image's full embedding).
func (c *covarianceAccumulator) add(x []float32, rows int) {
	d := c.dim
	if c.shift == nil {
		c.shift = make([]float64, d)
		for j := range c.shift {
			c.shift[j] = float64(x[j])
		}
	}
	if cap(c.rows) < rows*d {
		c.rows = make([]float64, rows*d)
	}
	r := c.rows[:rows*d]
	for i := range r {
		r[i] = float64(x[i]) - c.shift[i%d]
		c.sum[i%d] += r[i]
	}
	blas.Dsyrk(d, rows, 1, r, d, 1, c.sxx, d)
	c.n += rows
}

// principalAxes returns the top-k eigenvectors of the accumulated
// covariance as a dim x k row-major matrix (column j = axis j, by
// decreasing eigenvalue). Each axis' sign is fixed so that its largest
// component is positive, which makes the result deterministic.
func (c *covarianceAccumulator) principalAxes(k int) ([]float32, error) {
	d := c.dim
	if c.n < 2 {
		return nil, fmt.Errorf("padim: PCA needs at least 2 embedding vectors, have %d", c.n)
	}
	if k <= 0 || k > d {
		return nil, fmt.Errorf("padim: cannot keep %d principal axes of %d channels", k, d)
	}
	n := float64(c.n)
	sym := mat.NewSymDense(d, nil)
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			sym.SetSym(i, j, (c.sxx[i*d+j]-c.sum[i]*c.sum[j]/n)/(n-1))
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(sym, true) {
		return nil, fmt.Errorf("padim: PCA eigendecomposition of the %dx%d channel covariance failed", d, d)
	}
	vals := eig.Values(nil) // ascending
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	out := make([]float32, d*k)
	for j := 0; j < k; j++ {
		col := len(vals) - 1 - j
		best, sign := 0.0, 1.0
		for i := 0; i < d; i++ {
			if v := vecs.At(i, col); v*v > best {
				best = v * v
				if v < 0 {
					sign = -1
				} else {
					sign = 1
				}
			}
		}
		for i := 0; i < d; i++ {
			out[i*k+j] = float32(sign * vecs.At(i, col))
		}
	}
	return out, nil
}
