package eval

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestPROHandWorked(t *testing.T) {
	tests := []struct {
		name  string
		maps  [][]float32
		masks [][]bool
		width int
		limit float64
		want  float64
	}{
		// Region {0,1}, normal {2,3}: the region is fully found before any
		// false positive, so PRO = 1 over the whole range.
		{"perfect", [][]float32{{4, 3, 2, 1}}, [][]bool{{true, true, false, false}}, 4, 0.3, 1},
		// Normal pixels first: PRO stays 0 up to FPR 1.
		{"inverted", [][]float32{{1, 2, 3, 4}}, [][]bool{{true, true, false, false}}, 4, 0.3, 0},
		// All scores equal: the curve is (0,0) -> (1,1); the area up to 0.3 is
		// 0.3^2/2, divided by 0.3 gives 0.15.
		{"all equal", [][]float32{{7, 7, 7, 7}}, [][]bool{{true, false, false, true}}, 2, 0.3, 0.15},
		{"all equal to 1", [][]float32{{7, 7, 7, 7}}, [][]bool{{true, false, false, true}}, 2, 1, 0.5},
		// Mask [[T F F] [F T T]] is ONE region of 3 pixels under
		// 8-connectivity (two under 4-connectivity, which would give 0.5).
		// Pixel (0,0) scores 5, the normals 3, the rest 1: the curve is
		// (0,0) (0,1/3) (1,1/3) (1,1) (1,1), so AU-PRO(0.3) = 1/3.
		{"diagonal region", [][]float32{{5, 3, 3, 3, 1, 1}}, [][]bool{{true, false, false, false, true, true}}, 3, 0.3, 1.0 / 3},
		// Two images, two regions of sizes 1 and 2, and a normal image (nil
		// mask). Scores: region A (size 1) 9; region B 9 and 2; normals
		// 8, 1, 1, 1, 1, 1 (6 normal pixels). Curve: t=9 -> (0, (1+1/2)/2)
		// = (0, .75); t=8 -> (1/6, .75); t=2 -> (1/6, 1); t=1 -> (1, 1).
		// Area to 0.3: 0.75*1/6 + segment (1/6,1)-(0.3,1) = 0.125 + 0.1333..
		{"two regions", [][]float32{{9, 8, 1}, {9, 2, 1}, {1, 1, 1}},
			[][]bool{{true, false, false}, {true, true, false}, nil}, 3, 0.3,
			(0.75*(1.0/6) + (0.3 - 1.0/6)) / 0.3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := PRO(tt.maps, tt.masks, tt.width, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(res.AUPRO-tt.want) > 1e-12 {
				t.Errorf("AU-PRO = %v, want %v (curve %+v)", res.AUPRO, tt.want, res.Curve)
			}
		})
	}
}

// brutePRO sweeps every distinct score explicitly, labelling regions with a
// union-find over 8-neighbours, and integrates the padded curve with an
// explicit search for the segment that crosses the limit.
func brutePRO(maps [][]float32, masks [][]bool, width int, limit float64) (fprs, pros []float64, aupro float64) {
	type region struct {
		img, size int
		pix       []int
	}
	var regions []region
	for i, mask := range masks {
		if mask == nil {
			continue
		}
		parent := make([]int, len(mask))
		for j := range parent {
			parent[j] = j
		}
		var find func(int) int
		find = func(x int) int {
			for parent[x] != x {
				x = parent[x]
			}
			return x
		}
		h := len(mask) / width
		for y := 0; y < h; y++ {
			for x := 0; x < width; x++ {
				p := y*width + x
				if !mask[p] {
					continue
				}
				for _, d := range [][2]int{{-1, -1}, {-1, 0}, {-1, 1}, {0, -1}} {
					yy, xx := y+d[0], x+d[1]
					if yy >= 0 && xx >= 0 && xx < width && mask[yy*width+xx] {
						parent[find(p)] = find(yy*width + xx)
					}
				}
			}
		}
		roots := map[int]int{}
		for p, in := range mask {
			if !in {
				continue
			}
			r := find(p)
			k, ok := roots[r]
			if !ok {
				k = len(regions)
				roots[r] = k
				regions = append(regions, region{img: i})
			}
			regions[k].size++
			regions[k].pix = append(regions[k].pix, p)
		}
	}
	var all []float32
	normals := 0
	for i, m := range maps {
		all = append(all, m...)
		for j := range m {
			if masks[i] == nil || !masks[i][j] {
				normals++
			}
		}
	}
	slices.Sort(all)
	all = slices.Compact(all)
	fprs, pros = []float64{0}, []float64{0}
	for k := len(all) - 1; k >= 0; k-- {
		thr := all[k]
		fp := 0
		for i, m := range maps {
			for j, v := range m {
				if v >= thr && (masks[i] == nil || !masks[i][j]) {
					fp++
				}
			}
		}
		sum := 0.0
		for _, r := range regions {
			hit := 0
			for _, p := range r.pix {
				if maps[r.img][p] >= thr {
					hit++
				}
			}
			sum += float64(hit) / float64(r.size)
		}
		fprs = append(fprs, float64(fp)/float64(normals))
		pros = append(pros, sum/float64(len(regions)))
	}
	fprs, pros = append(fprs, 1), append(pros, 1)
	for i := 1; i < len(fprs); i++ {
		x0, x1, y0, y1 := fprs[i-1], fprs[i], pros[i-1], pros[i]
		if x1 <= limit {
			aupro += (x1 - x0) * (y0 + y1) / 2
			continue
		}
		if x0 < limit {
			yl := y0 + (y1-y0)*(limit-x0)/(x1-x0)
			aupro += (limit - x0) * (y0 + yl) / 2
		}
		break
	}
	return fprs, pros, aupro / limit
}

func TestPROBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 30; trial++ {
		w, h := 3+rng.IntN(10), 3+rng.IntN(10)
		nimg := 1 + rng.IntN(4)
		levels := []float64{3, 20, 0}[trial%3]
		var maps [][]float32
		var masks [][]bool
		anyPos, anyNeg := false, false
		for i := 0; i < nimg; i++ {
			m := make([]float32, w*h)
			mk := make([]bool, w*h)
			for j := range m {
				v := rng.NormFloat64()
				if levels > 0 {
					v = math.Round(v*levels) / levels
				}
				mk[j] = rng.Float64() < 0.25
				if mk[j] {
					v += 0.7
				}
				m[j] = float32(v)
				anyPos = anyPos || mk[j]
				anyNeg = anyNeg || !mk[j]
			}
			if i == nimg-1 && nimg > 1 {
				mk = nil // a normal image
				anyNeg = true
			}
			maps, masks = append(maps, m), append(masks, mk)
		}
		if !anyPos || !anyNeg {
			continue
		}
		for _, limit := range []float64{0.3, 0.05, 1} {
			fprs, pros, want := brutePRO(maps, masks, w, limit)
			res, err := PRO(maps, masks, w, limit)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(res.AUPRO-want) > 1e-12 {
				t.Errorf("trial %d limit %v: AU-PRO = %v, brute force %v", trial, limit, res.AUPRO, want)
			}
			checkCurveOn(t, res.Curve, fprs, pros)
		}
	}
}

// checkCurveOn checks that a thinned curve starts at (0,0), ends at (1,1), and
// that every point of it is a point of the exact curve, in order.
func checkCurveOn(t *testing.T, c PROCurve, fprs, pros []float64) {
	t.Helper()
	n := len(c.FPR)
	if n < 2 || c.FPR[0] != 0 || c.PRO[0] != 0 || c.FPR[n-1] != 1 || c.PRO[n-1] != 1 {
		t.Fatalf("curve does not run from (0,0) to (1,1): %v %v", c.FPR, c.PRO)
	}
	if len(c.PRO) != n || len(c.Threshold) != n {
		t.Fatalf("curve slices have lengths %d %d %d", n, len(c.PRO), len(c.Threshold))
	}
	j := 0
	for i := 0; i < n; i++ {
		for j < len(fprs) && (math.Abs(fprs[j]-c.FPR[i]) > 1e-12 || math.Abs(pros[j]-c.PRO[i]) > 1e-12) {
			j++
		}
		if j == len(fprs) {
			t.Fatalf("curve point %d (%v, %v) is not on the exact curve", i, c.FPR[i], c.PRO[i])
		}
	}
}

func TestPROErrors(t *testing.T) {
	ok := [][]float32{{1, 2, 3, 4}}
	okMask := [][]bool{{true, false, false, false}}
	tests := []struct {
		name    string
		maps    [][]float32
		masks   [][]bool
		width   int
		limit   float64
		noRegio bool
	}{
		{"zero width", ok, okMask, 0, 0.3, false},
		{"ragged rows", ok, okMask, 3, 0.3, false},
		{"zero limit", ok, okMask, 2, 0, false},
		{"limit above one", ok, okMask, 2, 1.5, false},
		{"NaN limit", ok, okMask, 2, math.NaN(), false},
		{"NaN score", [][]float32{{1, float32(math.NaN()), 3, 4}}, okMask, 2, 0.3, false},
		{"mask length", ok, [][]bool{{true}}, 2, 0.3, false},
		{"mask count", ok, nil, 2, 0.3, false},
		{"no region", ok, [][]bool{nil}, 2, 0.3, true},
		{"no normal pixel", ok, [][]bool{{true, true, true, true}}, 2, 0.3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := PRO(tt.maps, tt.masks, tt.width, tt.limit)
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, ErrNoRegions) != tt.noRegio {
				t.Errorf("error %v: ErrNoRegions = %v, want %v", err, !tt.noRegio, tt.noRegio)
			}
		})
	}
}

func TestLabelRegions(t *testing.T) {
	const T, F = true, false
	tests := []struct {
		name  string
		mask  []bool
		width int
		want  []int32
	}{
		{"diagonal joins", []bool{T, F, F, F, T, F, F, F, T}, 3, []int32{1, 0, 0, 0, 1, 0, 0, 0, 1}},
		{"anti-diagonal joins", []bool{F, F, T, F, T, F, T, F, F}, 3, []int32{0, 0, 1, 0, 1, 0, 1, 0, 0}},
		{"gap separates", []bool{T, F, T, T, F, T}, 3, []int32{1, 0, 2, 1, 0, 2}},
		// The U shape is found from its left arm first but is one region,
		// and the later isolated pixel gets label 2.
		{"U shape", []bool{T, F, T, F, F, T, T, T, F, F, F, F, F, F, T}, 5, []int32{1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 2}},
		{"empty", []bool{F, F, F, F}, 2, []int32{0, 0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, n, err := LabelRegions(tt.mask, tt.width)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) || n != int(slices.Max(tt.want)) {
				t.Errorf("labels = %v (n %d), want %v", got, n, tt.want)
			}
		})
	}
	if _, _, err := LabelRegions(make([]bool, 5), 2); err == nil {
		t.Error("ragged mask: no error")
	}
}
