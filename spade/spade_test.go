package spade

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/internal/imgproc"
	"github.com/padim-go/padim/internal/tensor"
)

// shapes of a miniature three-stage backbone on a 16 x 12 input.
var testShapes = map[string][3]int{ // C, H, W
	"layer1": {4, 8, 6},
	"layer2": {5, 4, 3},
	"layer3": {6, 2, 2},
}

func randomFeatures(rng *rand.Rand, n int) backbones.Features {
	f := backbones.Features{}
	for name, s := range testShapes {
		t := tensor.New(n, s[0], s[1], s[2])
		for i := range t.Data {
			t.Data[i] = float32(rng.NormFloat64())
		}
		f[name] = t
	}
	return f
}

func testConfig() Config {
	return Config{K: 3, GalleryK: 4, PoolLayer: "layer3", PixelLayers: []string{"layer1", "layer2", "layer3"}, Height: 16, Width: 12}
}

// bruteSPADE scores image n of test against the training batch with float64
// distances and explicit loops.
func bruteSPADE(cfg Config, train, test backbones.Features, n int) (float64, []float32) {
	pooled := func(t *tensor.Tensor, i int) []float64 {
		v := make([]float64, t.C)
		for c := range v {
			for y := 0; y < t.H; y++ {
				for x := 0; x < t.W; x++ {
					v[c] += float64(t.At(i, c, y, x))
				}
			}
			// Pooled vectors are float32, as torch's avgpool output is.
			v[c] = float64(float32(v[c] / float64(t.H*t.W)))
		}
		return v
	}
	vec := func(t *tensor.Tensor, i, y, x int) []float64 {
		v := make([]float64, t.C)
		for c := range v {
			v[c] = float64(t.At(i, c, y, x))
		}
		return v
	}
	dist := func(a, b []float64) float64 {
		s := 0.0
		for i := range a {
			s += (a[i] - b[i]) * (a[i] - b[i])
		}
		return math.Sqrt(s)
	}
	tp := train[cfg.PoolLayer]
	q := pooled(test[cfg.PoolLayer], n)
	type cand struct {
		d float64
		j int
	}
	var cands []cand
	for j := 0; j < tp.N; j++ {
		cands = append(cands, cand{dist(q, pooled(tp, j)), j})
	}
	slices.SortFunc(cands, func(a, b cand) int { return cmp.Or(cmp.Compare(a.d, b.d), a.j-b.j) })
	score := 0.0
	for _, c := range cands[:cfg.K] {
		score += c.d
	}
	score /= float64(cfg.K)
	if len(cfg.PixelLayers) == 0 {
		return score, nil
	}

	sum := make([]float32, cfg.Height*cfg.Width)
	for _, name := range cfg.PixelLayers {
		tr, te := train[name], test[name]
		layerMap := make([]float32, te.H*te.W)
		for y := 0; y < te.H; y++ {
			for x := 0; x < te.W; x++ {
				best := math.Inf(1)
				for _, c := range cands[:cfg.GalleryK] {
					for gy := 0; gy < tr.H; gy++ {
						for gx := 0; gx < tr.W; gx++ {
							best = math.Min(best, dist(vec(te, n, y, x), vec(tr, c.j, gy, gx)))
						}
					}
				}
				layerMap[y*te.W+x] = float32(best)
			}
		}
		for i, v := range imgproc.ResizeBilinear(layerMap, te.H, te.W, cfg.Height, cfg.Width) {
			sum[i] += v
		}
	}
	for i := range sum {
		sum[i] /= float32(len(cfg.PixelLayers))
	}
	imgproc.GaussianBlur(sum, cfg.Height, cfg.Width, PaperSigma)
	return score, sum
}

func TestAgainstBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	train := randomFeatures(rng, 12)
	test := randomFeatures(rng, 3)
	cases := []struct {
		name string
		cfg  Config
	}{
		{"all layers", testConfig()},
		{"one pixel layer, K=1", Config{K: 1, PoolLayer: "layer2", PixelLayers: []string{"layer1"}, Height: 9, Width: 7}},
		{"gallery of everything", Config{K: 5, GalleryK: 12, PoolLayer: "layer1", PixelLayers: []string{"layer2", "layer3"}, Height: 16, Width: 12, Workers: 3}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			// Two AddTrain calls must equal one batch.
			first, second := backbones.Features{}, backbones.Features{}
			for name, f := range train {
				per := f.C * f.H * f.W
				first[name], _ = tensor.FromData(5, f.C, f.H, f.W, f.Data[:5*per])
				second[name], _ = tensor.FromData(7, f.C, f.H, f.W, f.Data[5*per:])
			}
			if err := m.AddTrain(first); err != nil {
				t.Fatal(err)
			}
			if err := m.AddTrain(second); err != nil {
				t.Fatal(err)
			}
			scores, maps, err := m.ScoreBatch(test)
			if err != nil {
				t.Fatal(err)
			}
			cfg := m.Config()
			cfg.Sigma = PaperSigma
			for n := range scores {
				wantScore, wantMap := bruteSPADE(cfg, train, test, n)
				if math.Abs(scores[n]-wantScore) > 1e-9*wantScore {
					t.Errorf("image %d: score %v, brute force %v", n, scores[n], wantScore)
				}
				if len(maps[n]) != len(wantMap) {
					t.Fatalf("image %d: map of %d pixels, want %d", n, len(maps[n]), len(wantMap))
				}
				for i, v := range maps[n] {
					if math.Abs(float64(v-wantMap[i])) > 1e-5*float64(wantMap[i]) {
						t.Fatalf("image %d pixel %d: %v, brute force %v", n, i, v, wantMap[i])
					}
				}
			}
		})
	}
}

func TestKnownAnomalyPosition(t *testing.T) {
	// Training images are one pattern plus small noise; the test image is the
	// same pattern with every layer disturbed at the cells whose top-left
	// input pixel lies in rows 8..15, columns 0..5 of the 16 x 12 input.
	rng := rand.New(rand.NewPCG(9, 10))
	base := randomFeatures(rng, 1)
	sample := func(n int, anomalous bool) backbones.Features {
		f := backbones.Features{}
		for name, b := range base {
			t := tensor.New(n, b.C, b.H, b.W)
			sy, sx := 16/b.H, 12/b.W
			for i := 0; i < n; i++ {
				for c := 0; c < b.C; c++ {
					for y := 0; y < b.H; y++ {
						for x := 0; x < b.W; x++ {
							v := b.At(0, c, y, x) + 0.05*float32(rng.NormFloat64())
							if anomalous && y*sy >= 8 && x*sx < 6 {
								v += 3
							}
							t.Set(i, c, y, x, v)
						}
					}
				}
			}
			f[name] = t
		}
		return f
	}
	m, err := New(Config{K: 3, PoolLayer: "layer3", PixelLayers: []string{"layer1", "layer2", "layer3"}, Height: 16, Width: 12})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.AddTrain(sample(10, false)); err != nil {
		t.Fatal(err)
	}
	normalScore, normalMap, err := m.Score(sample(1, false))
	if err != nil {
		t.Fatal(err)
	}
	badScore, badMap, err := m.Score(sample(1, true))
	if err != nil {
		t.Fatal(err)
	}
	if badScore <= 2*normalScore {
		t.Errorf("anomalous image score %v not well above normal %v", badScore, normalScore)
	}
	peak := 0
	for i, v := range badMap {
		if v > badMap[peak] {
			peak = i
		}
	}
	if y, x := peak/12, peak%12; y < 7 || x > 7 {
		t.Errorf("map peak at (%d, %d), anomaly covers rows 8..15, columns 0..7", y, x)
	}
	if slices.Max(normalMap) >= badMap[peak]/4 {
		t.Errorf("normal map max %v not well below anomalous peak %v", slices.Max(normalMap), badMap[peak])
	}
}

func TestDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	train := randomFeatures(rng, 9)
	test := randomFeatures(rng, 2)
	// Duplicate training image 0 as image 9 so nearest-neighbour ties occur.
	for name, f := range train {
		per := f.C * f.H * f.W
		dup, _ := tensor.FromData(10, f.C, f.H, f.W, append(slices.Clone(f.Data), f.Data[:per]...))
		train[name] = dup
	}
	var refScores []float64
	var refMaps [][]float32
	for _, workers := range []int{1, 2, 3, 1} {
		cfg := testConfig()
		cfg.GalleryK, cfg.Workers = 10, workers
		m, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.AddTrain(train); err != nil {
			t.Fatal(err)
		}
		scores, maps, err := m.ScoreBatch(test)
		if err != nil {
			t.Fatal(err)
		}
		if refScores == nil {
			refScores, refMaps = scores, maps
			continue
		}
		if !slices.Equal(scores, refScores) {
			t.Errorf("workers %d: scores %v, first run %v", workers, scores, refScores)
		}
		for i := range maps {
			if !slices.Equal(maps[i], refMaps[i]) {
				t.Errorf("workers %d: map %d differs from the first run", workers, i)
			}
		}
	}
}

func TestImageOnly(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	train, test := randomFeatures(rng, 6), randomFeatures(rng, 1)
	delete(test, "layer1") // pixel layers are not needed without PixelLayers
	m, err := New(Config{K: 2, PoolLayer: "layer2"})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.AddTrain(train); err != nil {
		t.Fatal(err)
	}
	score, amap, err := m.Score(test)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := bruteSPADE(Config{K: 2, PoolLayer: "layer2"}, train, test, 0)
	if amap != nil || math.Abs(score-want) > 1e-9*want {
		t.Errorf("Score = %v, map %v; want %v, nil", score, amap, want)
	}
}

func TestValidation(t *testing.T) {
	badConfigs := []struct {
		name string
		cfg  Config
	}{
		{"zero K", Config{PoolLayer: "layer3"}},
		{"negative GalleryK", Config{K: 2, GalleryK: -1, PoolLayer: "layer3"}},
		{"no pool layer", Config{K: 2}},
		{"negative sigma", Config{K: 2, PoolLayer: "layer3", Sigma: -1}},
		{"NaN sigma", Config{K: 2, PoolLayer: "layer3", Sigma: math.NaN()}},
		{"negative workers", Config{K: 2, PoolLayer: "layer3", Workers: -2}},
		{"pixel layers without size", Config{K: 2, PoolLayer: "layer3", PixelLayers: []string{"layer1"}}},
		{"repeated layer", Config{K: 2, PoolLayer: "layer3", PixelLayers: []string{"layer1", "layer1"}, Height: 4, Width: 4}},
	}
	for _, tt := range badConfigs {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg); err == nil {
				t.Error("no error")
			}
		})
	}

	rng := rand.New(rand.NewPCG(15, 16))
	newModel := func(t *testing.T) *Model {
		m, err := New(testConfig())
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	t.Run("too few training images", func(t *testing.T) {
		m := newModel(t)
		if err := m.AddTrain(randomFeatures(rng, 3)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := m.ScoreBatch(randomFeatures(rng, 1)); err == nil || !strings.Contains(err.Error(), "need at least 4") {
			t.Errorf("error %v, want one naming the 4 images needed", err)
		}
	})
	badFeatures := []struct {
		name   string
		mutate func(backbones.Features)
		want   string
	}{
		{"missing layer", func(f backbones.Features) { delete(f, "layer2") }, `no layer "layer2"`},
		{"NaN", func(f backbones.Features) { f["layer1"].Data[17] = float32(math.NaN()) }, "non-finite"},
		{"infinity", func(f backbones.Features) { f["layer3"].Data[0] = float32(math.Inf(1)) }, "non-finite"},
		{"batch sizes differ", func(f backbones.Features) { f["layer1"] = tensor.New(1, 4, 8, 6) }, "images"},
		{"shape differs", func(f backbones.Features) { f["layer2"] = tensor.New(2, 5, 4, 4) }, "training features were"},
		{"short data", func(f backbones.Features) { f["layer2"].Data = f["layer2"].Data[:3] }, "invalid"},
	}
	for _, tt := range badFeatures {
		t.Run(tt.name, func(t *testing.T) {
			m := newModel(t)
			if err := m.AddTrain(randomFeatures(rng, 5)); err != nil {
				t.Fatal(err)
			}
			f := randomFeatures(rng, 2)
			tt.mutate(f)
			if err := m.AddTrain(f); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("AddTrain error %v, want one containing %q", err, tt.want)
			}
			if m.Len() != 5 {
				t.Errorf("failed AddTrain changed the model to %d images", m.Len())
			}
			if _, _, err := m.ScoreBatch(f); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ScoreBatch error %v, want one containing %q", err, tt.want)
			}
		})
	}
	t.Run("Score takes one image", func(t *testing.T) {
		m := newModel(t)
		if err := m.AddTrain(randomFeatures(rng, 5)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := m.Score(randomFeatures(rng, 2)); err == nil {
			t.Error("no error for a batch of two")
		}
	})
}

func BenchmarkScoreResNet18Shapes(b *testing.B) {
	// ResNet-18 feature shapes at 224 x 224, 20 training images, a gallery
	// of 5: one test image costs 2*3136*(5*3136)*64 + ... = 6.6 GFLOP.
	rng := rand.New(rand.NewPCG(1, 1))
	shapes := map[string][3]int{"layer1": {64, 56, 56}, "layer2": {128, 28, 28}, "layer3": {256, 14, 14}}
	feats := func(n int) backbones.Features {
		f := backbones.Features{}
		for name, s := range shapes {
			t := tensor.New(n, s[0], s[1], s[2])
			for i := range t.Data {
				t.Data[i] = rng.Float32()
			}
			f[name] = t
		}
		return f
	}
	train, test := feats(20), feats(1)
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			m, err := New(Config{K: 5, PoolLayer: "layer3", PixelLayers: []string{"layer1", "layer2", "layer3"},
				Height: 224, Width: 224, Workers: workers})
			if err != nil {
				b.Fatal(err)
			}
			if err := m.AddTrain(train); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, _, err := m.Score(test); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
