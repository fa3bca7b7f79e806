package eval

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func TestPixelROCMatchesPixelAUROC(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const w, h = 16, 12
	var maps [][]float32
	var masks [][]bool
	for i := 0; i < 20; i++ {
		m := make([]float32, w*h)
		var mask []bool
		if i%2 == 1 {
			mask = make([]bool, w*h)
		}
		for j := range m {
			m[j] = float32(rng.NormFloat64())
			if mask != nil && j%w < 5 {
				mask[j] = true
				m[j] += 1.5
			}
		}
		maps, masks = append(maps, m), append(masks, mask)
	}
	want, err := PixelAUROC(maps, masks)
	if err != nil {
		t.Fatal(err)
	}
	fpr, tpr, err := PixelROC(maps, masks, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if fpr[0] != 0 || tpr[0] != 0 || fpr[len(fpr)-1] != 1 || tpr[len(tpr)-1] != 1 {
		t.Fatalf("curve does not run from (0,0) to (1,1): first (%v,%v) last (%v,%v)", fpr[0], tpr[0], fpr[len(fpr)-1], tpr[len(tpr)-1])
	}
	for i := 1; i < len(fpr); i++ {
		if fpr[i] < fpr[i-1] || tpr[i] < tpr[i-1] {
			t.Fatalf("point %d decreases: (%v,%v) after (%v,%v)", i, fpr[i], tpr[i], fpr[i-1], tpr[i-1])
		}
	}
	// The thinned curve's area approaches the exact one.
	if got := trapezoid(fpr, tpr); math.Abs(got-want) > 0.005 {
		t.Errorf("area under the plotted curve %.4f, exact pixel AUROC %.4f", got, want)
	}
	if _, _, err := PixelROC(maps[:1], masks[:1], 10); !errors.Is(err, ErrOneClass) {
		t.Errorf("one class: err = %v, want ErrOneClass", err)
	}
}

func TestEvaluatePerDefect(t *testing.T) {
	// Normal images score 0..3; type "a" scores above all of them, type "b"
	// sits among them, so "a" has image AUROC 1 and "b" less.
	scores := []float64{0, 1, 2, 3, 10, 11, 1.5, 2.5}
	labels := []bool{false, false, false, false, true, true, true, true}
	defects := []string{"good", "good", "good", "good", "a", "a", "b", "b"}
	w := 2
	var maps [][]float32
	var masks [][]bool
	for i, s := range scores {
		maps = append(maps, []float32{float32(s), 0})
		if labels[i] {
			masks = append(masks, []bool{true, false})
		} else {
			masks = append(masks, nil)
		}
	}
	got, err := EvaluatePerDefect(Input{ImageScores: scores, ImageLabels: labels, Maps: maps, Masks: masks, Width: w}, defects)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Defect != "a" || got[1].Defect != "b" || got[0].Anomalous != 2 {
		t.Fatalf("got %+v, want types a then b with 2 images each", got)
	}
	if v, _ := got[0].ImageAUROC.Get(); v != 1 {
		t.Errorf("type a image AUROC %v, want 1", v)
	}
	// b's scores 1.5 and 2.5 beat 2 and 3 of the 4 normal scores: (2+3)/8.
	if v, _ := got[1].ImageAUROC.Get(); math.Abs(v-5.0/8) > 1e-12 {
		t.Errorf("type b image AUROC %v, want 0.625", v)
	}
	if !got[1].PixelAUROC.Valid || !got[1].PRO.Valid {
		t.Errorf("type b pixel metrics missing: %+v", got[1])
	}
	if _, err := EvaluatePerDefect(Input{ImageScores: scores, ImageLabels: labels}, defects[:3]); err == nil {
		t.Error("mismatched defect names accepted")
	}
}
