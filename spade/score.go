package spade

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/internal/blas"
	"github.com/padim-go/padim/internal/imgproc"
	"github.com/padim-go/padim/internal/tensor"
)

// Score scores one test image; feats must hold a batch of one. It returns the
// image score (mean distance to the K nearest training images) and, when the
// model has pixel layers, the Height x Width row-major anomaly map (nil
// otherwise).
func (m *Model) Score(feats backbones.Features) (float64, []float32, error) {
	if t := feats[m.cfg.PoolLayer]; t != nil && t.N != 1 {
		return 0, nil, fmt.Errorf("spade: Score takes one image, layer %q holds %d (use ScoreBatch)", m.cfg.PoolLayer, t.N)
	}
	scores, maps, err := m.ScoreBatch(feats)
	if err != nil {
		return 0, nil, err
	}
	return scores[0], maps[0], nil
}

// ScoreBatch scores every image of a batch of test features, returning one
// image score and one anomaly map (nil without pixel layers) per image.
func (m *Model) ScoreBatch(feats backbones.Features) ([]float64, [][]float32, error) {
	need := m.cfg.K
	if len(m.pixels) > 0 {
		need = max(need, m.cfg.GalleryK)
	}
	if m.n < need {
		return nil, nil, fmt.Errorf("spade: %d training images, need at least %d (K=%d, GalleryK=%d)", m.n, need, m.cfg.K, m.cfg.GalleryK)
	}
	pool, pix, err := m.gather(feats)
	if err != nil {
		return nil, nil, err
	}
	nTest, c := pool.N, m.pool.c
	queries := make([]float32, 0, nTest*c)
	for n := 0; n < nTest; n++ {
		queries = append(queries, avgPool(pool, n)...)
	}
	// dots[i*m.n+j] = <test i, train j>, the only O(n_test * n_train * C) step.
	dots := make([]float32, nTest*m.n)
	blas.Sgemm(false, true, nTest, m.n, c, 1, queries, c, m.pool.feats, c, 0, dots, m.n)

	scores := make([]float64, nTest)
	maps := make([][]float32, nTest)
	order := make([]int, m.n)
	d2 := make([]float32, m.n)
	for i := range nTest {
		q := queries[i*c : (i+1)*c]
		for j := range d2 {
			d2[j] = m.pool.norms[j] - 2*dots[i*m.n+j] // + ||q||^2, the same for every j
		}
		for j := range order {
			order[j] = j
		}
		slices.SortFunc(order, func(a, b int) int {
			if r := cmp.Compare(d2[a], d2[b]); r != 0 {
				return r
			}
			return a - b
		})
		sum := 0.0
		for _, j := range order[:m.cfg.K] {
			sum += exactDist(q, m.pool.feats[j*c:(j+1)*c])
		}
		scores[i] = sum / float64(m.cfg.K)
		if len(m.pixels) > 0 {
			maps[i] = m.anomalyMap(pix, i, order[:m.cfg.GalleryK])
		}
	}
	return scores, maps, nil
}

// anomalyMap builds the smoothed full-size map of test image n from the
// positions of the gallery training images.
func (m *Model) anomalyMap(pix []*tensor.Tensor, n int, gallery []int) []float32 {
	h, w := m.cfg.Height, m.cfg.Width
	sum := make([]float32, h*w)
	for li := range m.pixels {
		b := &m.pixels[li]
		dist := m.nearest(b, positionMajor(pix[li], n), gallery)
		up := imgproc.ResizeBilinear(dist, b.h, b.w, h, w)
		for i, v := range up {
			sum[i] += v
		}
	}
	inv := float32(len(m.pixels))
	for i := range sum {
		sum[i] /= inv
	}
	imgproc.GaussianBlur(sum, h, w, m.cfg.Sigma)
	return sum
}

// nearest returns, for each of the P query positions (P x C, position
// major), the Euclidean distance to the closest position of any gallery
// image in bank b. Workers take gallery images in turn, each keeping its own
// running minimum; minima are merged with ties going to the lower training
// index, so the result does not depend on scheduling.
func (m *Model) nearest(b *layerBank, queries []float32, gallery []int) []float32 {
	p, c := b.hw(), b.c
	workers := max(1, min(m.cfg.Workers, len(gallery)))
	type best struct {
		d   []float32 // ||g||^2 - 2 q.g of the best candidate so far
		idx []int     // its global row in b.feats, -1 before any
	}
	bests := make([]best, workers)
	next := make(chan int)
	var wg sync.WaitGroup
	for wi := range workers {
		bests[wi] = best{d: make([]float32, p), idx: make([]int, p)}
		for i := range bests[wi].d {
			bests[wi].d[i], bests[wi].idx[i] = float32(math.Inf(1)), -1
		}
		wg.Add(1)
		go func(bs best) {
			defer wg.Done()
			block := make([]float32, p*p)
			for img := range next {
				base := img * p
				g := b.feats[base*c : (base+p)*c]
				gn := b.norms[base : base+p]
				blas.Sgemm(false, true, p, p, c, -2, queries, c, g, c, 0, block, p)
				for qi := 0; qi < p; qi++ {
					row := block[qi*p : (qi+1)*p]
					bd, bi := bs.d[qi], bs.idx[qi]
					for gi, v := range row {
						if d := v + gn[gi]; d < bd || (d == bd && base+gi < bi) {
							bd, bi = d, base+gi
						}
					}
					bs.d[qi], bs.idx[qi] = bd, bi
				}
			}
		}(bests[wi])
	}
	for _, img := range gallery {
		next <- img
	}
	close(next)
	wg.Wait()

	out := make([]float32, p)
	for qi := range out {
		bd, bi := bests[0].d[qi], bests[0].idx[qi]
		for _, bs := range bests[1:] {
			if d, i := bs.d[qi], bs.idx[qi]; i >= 0 && (bi < 0 || d < bd || (d == bd && i < bi)) {
				bd, bi = d, i
			}
		}
		out[qi] = float32(exactDist(queries[qi*c:(qi+1)*c], b.feats[bi*c:(bi+1)*c]))
	}
	return out
}
