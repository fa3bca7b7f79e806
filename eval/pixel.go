package eval

import (
	"fmt"
	"math"
	"sync"
)

// checkPixels validates anomaly maps against masks and counts anomalous
// (positive) and normal (negative) pixels. A nil mask means an image with no
// anomalous pixel, so normal test images need no mask allocation.
func checkPixels(maps [][]float32, masks [][]bool) (pos, neg int, err error) {
	if len(maps) != len(masks) {
		return 0, 0, fmt.Errorf("eval: %d anomaly maps but %d masks", len(maps), len(masks))
	}
	for i, m := range maps {
		mask := masks[i]
		if mask != nil && len(mask) != len(m) {
			return 0, 0, fmt.Errorf("eval: image %d: anomaly map has %d pixels, mask %d", i, len(m), len(mask))
		}
		for j, v := range m {
			if math.IsNaN(float64(v)) {
				return 0, 0, fmt.Errorf("eval: image %d: anomaly score at pixel %d is NaN", i, j)
			}
			if mask != nil && mask[j] {
				pos++
			} else {
				neg++
			}
		}
	}
	return pos, neg, nil
}

// PixelAUROC returns the AUROC of all pixels of all maps against the masks
// (true = anomalous pixel), equal to sklearn's roc_auc_score on the
// concatenated, flattened arrays. masks[i] may be nil for an image without
// anomalous pixels; otherwise it must have len(maps[i]) entries. It returns an
// error wrapping ErrOneClass when no pixel, or every pixel, is anomalous.
//
// It runs in O(n) time after an O(n) radix sort and uses about 8 bytes per
// pixel; no float64 copy of the scores is made.
func PixelAUROC(maps [][]float32, masks [][]bool) (float64, error) {
	pos, neg, err := checkPixels(maps, masks)
	if err != nil {
		return 0, err
	}
	if pos == 0 || neg == 0 {
		return 0, fmt.Errorf("%w (%d anomalous pixels, %d normal pixels)", ErrOneClass, pos, neg)
	}
	posKeys, negKeys := sortedPixelKeys(maps, masks, pos, neg)
	return float64(twiceU(posKeys, negKeys)) / (2 * float64(pos) * float64(neg)), nil
}

// sortedPixelKeys splits the scores of all pixels into the sortable keys of
// the pos anomalous and the neg normal pixels, each sorted ascending (the two
// radix sorts run concurrently).
func sortedPixelKeys(maps [][]float32, masks [][]bool, pos, neg int) (posKeys, negKeys []uint32) {
	posKeys = make([]uint32, 0, pos)
	negKeys = make([]uint32, 0, neg)
	for i, m := range maps {
		mask := masks[i]
		for j, v := range m {
			if mask != nil && mask[j] {
				posKeys = append(posKeys, floatKey(v))
			} else {
				negKeys = append(negKeys, floatKey(v))
			}
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); posKeys = radixSort(posKeys, make([]uint32, pos), 0, 32) }()
	go func() { defer wg.Done(); negKeys = radixSort(negKeys, make([]uint32, neg), 0, 32) }()
	wg.Wait()
	return posKeys, negKeys
}

// twiceU returns twice the Mann-Whitney U statistic of sorted positive keys
// against sorted negative keys: for every positive, 2 per negative ranked
// below it plus 1 per negative tied with it. Divided by 2*|pos|*|neg| it is
// the trapezoid area under the tie-merged ROC curve.
func twiceU(pos, neg []uint32) uint64 {
	var u uint64
	j := 0
	for i := 0; i < len(pos); {
		k := pos[i]
		c := 0
		for i < len(pos) && pos[i] == k {
			i++
			c++
		}
		for j < len(neg) && neg[j] < k {
			j++
		}
		less := j
		for j < len(neg) && neg[j] == k {
			j++
		}
		u += uint64(c) * uint64(2*less+(j-less))
	}
	return u
}
