package eval

import (
	"errors"
	"fmt"
	"math"
)

// ErrNoRegions is returned by PRO when no mask has an anomalous pixel.
var ErrNoRegions = errors.New("eval: no ground-truth region, PRO is not defined")

// PaperPROLimit is the FPR integration limit of the MVTec AD evaluation and
// of the PaDiM paper.
const PaperPROLimit = 0.3

// CurveResolution is the smallest change in FPR or PRO between consecutive
// points of a returned PROCurve. The full curve of a category has a point per
// distinct pixel score (millions); a plot needs a few thousand. AU-PRO is
// always integrated over the full curve.
const CurveResolution = 1.0 / 2048

// PROCurve is the per-region-overlap curve, FPR non-decreasing. Point i holds
// the rates of pixels with score >= Threshold[i]; the first point is (0, 0)
// at +Inf and the last (1, 1) at -Inf, as the MVTec code pads the curve.
type PROCurve struct {
	FPR, PRO, Threshold []float64
}

// PROResult is the outcome of PRO.
type PROResult struct {
	AUPRO        float64  // area under the PRO curve up to Limit, divided by Limit
	Limit        float64  // FPR integration limit
	Regions      int      // ground-truth connected components over all masks
	NormalPixels int      // pixels outside every region, over all images
	Curve        PROCurve // thinned to CurveResolution for plotting
}

// PRO computes the per-region overlap curve and its normalised area up to the
// FPR limit exactly as the MVTec AD evaluation code defines them (see the
// package documentation). Every map is a row-major image of the given width;
// masks[i] is nil for an image without anomalous pixels or has len(maps[i])
// entries. limit must be in (0, 1]; the paper uses PaperPROLimit.
func PRO(maps [][]float32, masks [][]bool, width int, limit float64) (PROResult, error) {
	if !(limit > 0 && limit <= 1) {
		return PROResult{}, fmt.Errorf("eval: PRO FPR limit %v outside (0, 1]", limit)
	}
	if width <= 0 {
		return PROResult{}, fmt.Errorf("eval: PRO image width %d must be positive", width)
	}
	for i, m := range maps {
		if len(m)%width != 0 {
			return PROResult{}, fmt.Errorf("eval: image %d: %d pixels is not a whole number of rows of width %d", i, len(m), width)
		}
	}
	pos, neg, err := checkPixels(maps, masks)
	if err != nil {
		return PROResult{}, err
	}
	n := pos + neg
	if neg == 0 {
		return PROResult{}, fmt.Errorf("eval: PRO needs normal pixels, all %d pixels are anomalous", n)
	}
	if pos == 0 {
		return PROResult{}, ErrNoRegions
	}

	// Each pixel becomes score key << 32 | region id, id 0 for normal pixels
	// and 1.. for the connected components of all masks in turn.
	keys := make([]uint64, 0, n)
	invSize := []float64{0}
	var labels []int32
	for i, m := range maps {
		mask := masks[i]
		if mask == nil {
			for _, v := range m {
				keys = append(keys, uint64(floatKey(v))<<32)
			}
			continue
		}
		var count int
		labels, count = labelRegions(mask, width, labels)
		base := int32(len(invSize) - 1)
		sizes := make([]int, count+1)
		for _, l := range labels {
			sizes[l]++
		}
		for _, s := range sizes[1:] {
			invSize = append(invSize, 1/float64(s))
		}
		for j, v := range m {
			id := uint64(0)
			if l := labels[j]; l != 0 {
				id = uint64(base + l)
			}
			keys = append(keys, uint64(floatKey(v))<<32|id)
		}
	}
	regions := len(invSize) - 1
	keys = radixSort(keys, make([]uint64, n), 32, 64)

	res := PROResult{Limit: limit, Regions: regions, NormalPixels: neg}
	var area areaUpTo
	area.limit = limit
	emit := func(fpr, pro, thr float64, keep bool) {
		area.add(fpr, pro)
		res.Curve.add(fpr, pro, thr, keep)
	}
	emit(0, 0, math.Inf(1), true)
	fp, proSum := 0, 0.0
	for i := n - 1; i >= 0; {
		k := uint32(keys[i] >> 32)
		for ; i >= 0 && uint32(keys[i]>>32) == k; i-- {
			if id := uint32(keys[i]); id == 0 {
				fp++
			} else {
				proSum += invSize[id]
			}
		}
		// Clipping at 1 mirrors the official code, which guards against the
		// cumulative sum of 1/size drifting above 1.
		emit(min(float64(fp)/float64(neg), 1), min(proSum/float64(regions), 1), float64(keyFloat(k)), false)
	}
	emit(1, 1, math.Inf(-1), true)
	res.AUPRO = area.area / limit
	return res, nil
}

// areaUpTo integrates a stream of curve points (x non-decreasing) with the
// trapezoid rule up to x = limit, as generic_util.trapezoid of the MVTec code:
// all points with x <= limit are integrated, and unless one lies exactly on
// the limit, the piece from the last of them to the limit is added with y
// linearly interpolated towards the first point beyond.
type areaUpTo struct {
	limit        float64
	area         float64
	prevX, prevY float64
	started      bool
	onLimit      bool
	done         bool
}

func (a *areaUpTo) add(x, y float64) {
	if a.done {
		return
	}
	if x <= a.limit {
		if a.started {
			a.area += (x - a.prevX) * (y + a.prevY) / 2
		}
		a.prevX, a.prevY, a.started = x, y, true
		if x == a.limit {
			a.onLimit = true
		}
		return
	}
	if !a.onLimit && a.started {
		yl := a.prevY + (y-a.prevY)*(a.limit-a.prevX)/(x-a.prevX)
		a.area += (yl + a.prevY) * (a.limit - a.prevX) / 2
	}
	a.done = true
}

// add appends a point when it moved at least CurveResolution in FPR or PRO
// from the last kept one, or when keep is set. Kept points are points of the
// exact curve.
func (c *PROCurve) add(fpr, pro, thr float64, keep bool) {
	if last := len(c.FPR) - 1; !keep && last >= 0 &&
		math.Abs(fpr-c.FPR[last]) < CurveResolution && math.Abs(pro-c.PRO[last]) < CurveResolution {
		return
	}
	c.FPR = append(c.FPR, fpr)
	c.PRO = append(c.PRO, pro)
	c.Threshold = append(c.Threshold, thr)
}
