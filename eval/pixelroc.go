package eval

import (
	"fmt"
	"sort"
)

// PixelROC returns about points+2 points of the pixel-level ROC curve of
// maps against masks (same conventions as PixelAUROC): fpr and tpr are the
// fractions of normal and anomalous pixels with score >= each threshold,
// from (0, 0) to (1, 1), FPR non-decreasing. Thresholds are the scores at
// evenly spaced ranks of the normal pixels and of the anomalous pixels, so
// the curve is drawn finely where either rate changes. It is for plotting;
// PixelAUROC is the exact area. It returns an error wrapping ErrOneClass when
// no pixel, or every pixel, is anomalous.
func PixelROC(maps [][]float32, masks [][]bool, points int) (fpr, tpr []float64, err error) {
	pos, neg, err := checkPixels(maps, masks)
	if err != nil {
		return nil, nil, err
	}
	if pos == 0 || neg == 0 {
		return nil, nil, fmt.Errorf("%w (%d anomalous pixels, %d normal pixels)", ErrOneClass, pos, neg)
	}
	if points < 2 {
		points = 2
	}
	posKeys, negKeys := sortedPixelKeys(maps, masks, pos, neg)
	// Candidate thresholds, one set per class, at evenly spaced ranks.
	var thr []uint32
	for _, keys := range [][]uint32{negKeys, posKeys} {
		for k := 0; k < points/2; k++ {
			thr = append(thr, keys[k*len(keys)/(points/2)])
		}
		thr = append(thr, keys[len(keys)-1])
	}
	sort.Slice(thr, func(a, b int) bool { return thr[a] > thr[b] })
	// atLeast counts the keys of a sorted slice that are >= t.
	atLeast := func(keys []uint32, t uint32) int {
		return len(keys) - sort.Search(len(keys), func(i int) bool { return keys[i] >= t })
	}
	fpr, tpr = []float64{0}, []float64{0}
	for i, t := range thr {
		if i > 0 && t == thr[i-1] {
			continue
		}
		fpr = append(fpr, float64(atLeast(negKeys, t))/float64(neg))
		tpr = append(tpr, float64(atLeast(posKeys, t))/float64(pos))
	}
	if fpr[len(fpr)-1] != 1 || tpr[len(tpr)-1] != 1 {
		fpr, tpr = append(fpr, 1), append(tpr, 1)
	}
	return fpr, tpr, nil
}
