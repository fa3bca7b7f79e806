package eval

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// bruteAUROC is the pairwise definition: the fraction of (positive, negative)
// pairs ranked correctly, ties counting one half.
func bruteAUROC(scores []float64, labels []bool) float64 {
	num, pairs := 0.0, 0.0
	for i, si := range scores {
		if !labels[i] {
			continue
		}
		for j, sj := range scores {
			if labels[j] {
				continue
			}
			pairs++
			switch {
			case si > sj:
				num++
			case si == sj:
				num += 0.5
			}
		}
	}
	return num / pairs
}

func TestAUROCHandWorked(t *testing.T) {
	tests := []struct {
		name   string
		scores []float64
		labels []bool
		want   float64
	}{
		{"perfect", []float64{0.1, 0.2, 0.8, 0.9}, []bool{false, false, true, true}, 1},
		{"inverted", []float64{0.9, 0.8, 0.2, 0.1}, []bool{false, false, true, true}, 0},
		{"all equal", []float64{3, 3, 3, 3, 3}, []bool{false, true, false, true, true}, 0.5},
		// pairs: (1 vs 1) tie 0.5, (1 vs 2) 0, (3 vs 1) 1, (3 vs 2) 1 -> 2.5/4
		{"ties", []float64{1, 1, 2, 3}, []bool{false, true, false, true}, 0.625},
		// sklearn's roc_auc_score documentation example
		{"sklearn doc", []float64{0.1, 0.4, 0.35, 0.8}, []bool{false, false, true, true}, 0.75},
		{"signed zeros tie", []float64{math.Copysign(0, -1), 0}, []bool{false, true}, 0.5},
		{"infinities", []float64{math.Inf(-1), math.Inf(1), 0}, []bool{false, true, false}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AUROC(tt.scores, tt.labels)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-tt.want) > 1e-15 {
				t.Errorf("AUROC = %v, want %v", got, tt.want)
			}
			// The same data as a one-image pixel map.
			m := make([]float32, len(tt.scores))
			for i, s := range tt.scores {
				m[i] = float32(s)
			}
			pix, err := PixelAUROC([][]float32{m}, [][]bool{tt.labels})
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(pix-tt.want) > 1e-15 {
				t.Errorf("PixelAUROC = %v, want %v", pix, tt.want)
			}
		})
	}
}

func TestROCHandWorked(t *testing.T) {
	// sklearn's roc_curve documentation example.
	fpr, tpr, thr, err := ROC([]float64{0.1, 0.4, 0.35, 0.8}, []bool{false, false, true, true})
	if err != nil {
		t.Fatal(err)
	}
	wantFPR := []float64{0, 0, 0.5, 0.5, 1}
	wantTPR := []float64{0, 0.5, 0.5, 1, 1}
	wantThr := []float64{math.Inf(1), 0.8, 0.4, 0.35, 0.1}
	for _, c := range []struct {
		name      string
		got, want []float64
	}{{"fpr", fpr, wantFPR}, {"tpr", tpr, wantTPR}, {"thresholds", thr, wantThr}} {
		if !equalFloats(c.got, c.want, 0) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	// Tied scores enter at once: one point for the three 2s.
	fpr, tpr, thr, err = ROC([]float64{2, 2, 2, 1}, []bool{true, false, true, false})
	if err != nil {
		t.Fatal(err)
	}
	if !equalFloats(fpr, []float64{0, 0.5, 1}, 0) || !equalFloats(tpr, []float64{0, 1, 1}, 0) ||
		!equalFloats(thr, []float64{math.Inf(1), 2, 1}, 0) {
		t.Errorf("tied ROC = %v %v %v", fpr, tpr, thr)
	}
}

func equalFloats(a, b []float64, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] == b[i] {
			continue
		}
		if math.Abs(a[i]-b[i]) > tol {
			return false
		}
	}
	return true
}

func TestAUROCErrors(t *testing.T) {
	tests := []struct {
		name    string
		scores  []float64
		labels  []bool
		oneCls  bool
		wantErr bool
	}{
		{"empty", nil, nil, true, true},
		{"only positives", []float64{1, 2}, []bool{true, true}, true, true},
		{"only negatives", []float64{1, 2}, []bool{false, false}, true, true},
		{"length mismatch", []float64{1, 2, 3}, []bool{true, false}, false, true},
		{"NaN", []float64{1, math.NaN()}, []bool{true, false}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := AUROC(tt.scores, tt.labels)
			if err == nil {
				t.Fatal("no error")
			}
			if got := errors.Is(err, ErrOneClass); got != tt.oneCls {
				t.Errorf("errors.Is(%v, ErrOneClass) = %v, want %v", err, got, tt.oneCls)
			}
			if _, _, _, err := ROC(tt.scores, tt.labels); err == nil {
				t.Error("ROC: no error")
			}
		})
	}
}

func TestAUROCBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 40; trial++ {
		n := 2 + rng.IntN(300)
		levels := []float64{2, 10, 1000, 0}[trial%4] // 0: continuous scores
		scores := make([]float64, n)
		labels := make([]bool, n)
		for i := range scores {
			s := float64(float32(rng.NormFloat64()))
			if levels > 0 {
				s = math.Round(s*levels) / levels
			}
			scores[i] = s
			labels[i] = rng.Float64() < 0.3
		}
		labels[0], labels[1] = true, false
		want := bruteAUROC(scores, labels)
		got, err := AUROC(scores, labels)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-want) > 1e-12 {
			t.Errorf("trial %d: AUROC = %v, brute force %v", trial, got, want)
		}
		// Split the same data into images of random length for PixelAUROC,
		// leaving some masks nil where the image has no positive.
		var maps [][]float32
		var masks [][]bool
		for i := 0; i < n; {
			k := min(n-i, 1+rng.IntN(40))
			m := make([]float32, k)
			mk := make([]bool, k)
			any := false
			for j := range m {
				m[j] = float32(scores[i+j])
				mk[j] = labels[i+j]
				any = any || mk[j]
			}
			if !any && rng.IntN(2) == 0 {
				mk = nil
			}
			maps, masks = append(maps, m), append(masks, mk)
			i += k
		}
		pix, err := PixelAUROC(maps, masks)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(pix-want) > 1e-12 {
			t.Errorf("trial %d: PixelAUROC = %v, brute force %v", trial, pix, want)
		}
	}
}

func TestPixelAUROCErrors(t *testing.T) {
	tests := []struct {
		name   string
		maps   [][]float32
		masks  [][]bool
		oneCls bool
	}{
		{"count mismatch", [][]float32{{1}}, nil, false},
		{"length mismatch", [][]float32{{1, 2}}, [][]bool{{true}}, false},
		{"NaN", [][]float32{{1, float32(math.NaN())}}, [][]bool{{true, false}}, false},
		{"no anomalous pixel", [][]float32{{1, 2}}, [][]bool{nil}, true},
		{"no normal pixel", [][]float32{{1, 2}}, [][]bool{{true, true}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := PixelAUROC(tt.maps, tt.masks)
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, ErrOneClass) != tt.oneCls {
				t.Errorf("error %v: ErrOneClass = %v, want %v", err, !tt.oneCls, tt.oneCls)
			}
		})
	}
}
