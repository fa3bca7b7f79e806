package padim

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/internal/blas"
	"github.com/padim-go/padim/internal/tensor"
)

// constantLoader returns the same constant image for every path, like an
// all-black training set.
type constantLoader struct{ v float32 }

func (l constantLoader) Image(string) (*tensor.Tensor, error) {
	t := tensor.New(1, 3, 32, 32)
	for i := range t.Data {
		t.Data[i] = l.v
	}
	return t, nil
}

// poisonedBackbone is fakeBackbone with one activation replaced by bad in
// every batch whose first image index satisfies when.
type poisonedBackbone struct {
	fakeBackbone
	bad   float32
	layer string
}

func (p poisonedBackbone) Forward(x *tensor.Tensor, layers []string) (backbones.Features, error) {
	f, err := p.fakeBackbone.Forward(x, layers)
	if err != nil {
		return nil, err
	}
	if t := f[p.layer]; t != nil {
		t.Data[len(t.Data)-1] = p.bad // last image of the batch
	}
	return f, nil
}

// N < d: with 5 images and d = 100 the sample covariance has rank <= 4, and
// eps I alone makes it invertible. The fit must work, and the Mahalanobis
// distance of a training vector must be the hand-derivable value for this
// regularised rank-deficient Gaussian: it is finite and positive, and an
// anomalous image still scores above the normal ones.
func TestFitFewerImagesThanDims(t *testing.T) {
	ctx := context.Background()
	wide := wideBackbone{}
	m, err := Fit(ctx, FitConfig{D: 100, Seed: 5}, wide, trainSamples(5), fakeLoader{}, nil)
	if err != nil {
		t.Fatalf("N=5 < d=100: %v", err)
	}
	if m.Header.NTrain != 5 || m.Header.D != 100 {
		t.Fatalf("header n_train %d d %d", m.Header.NTrain, m.Header.D)
	}
	res, err := m.Score(ctx, wide, loadBatch(t, "t/img-500", "t/anomaly-501"))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if math.IsNaN(r.Score) || math.IsInf(r.Score, 0) || r.Score <= 0 {
			t.Fatalf("image %d score %v", i, r.Score)
		}
	}
	if res[1].Score <= res[0].Score {
		t.Errorf("anomaly scores %v, normal %v", res[1].Score, res[0].Score)
	}
	// Brute force at one position: Sigma = S/(N-1) + eps I with float64
	// Gaussian elimination, distance of the test vector.
	bruteForceDistanceCheck(t, m, wide, "t/img-500", 17)
}

// wideBackbone repeats fakeBackbone's 12 channels to 120 with different
// gains, so d = 100 > N can be tested.
type wideBackbone struct{}

func (wideBackbone) Name() string { return "wide-fake" }

func (wideBackbone) Layers() []backbones.Layer {
	return []backbones.Layer{{Name: "layer1", Channels: 50, Stride: 4}, {Name: "layer2", Channels: 40, Stride: 8}, {Name: "layer3", Channels: 30, Stride: 16}}
}

func (wideBackbone) Forward(x *tensor.Tensor, layers []string) (backbones.Features, error) {
	base, err := fakeBackbone{}.Forward(x, layers)
	if err != nil {
		return nil, err
	}
	f := backbones.Features{}
	for _, name := range layers {
		b := base[name]
		out := tensor.New(b.N, b.C*10, b.H, b.W)
		plane := b.H * b.W
		for n := 0; n < b.N; n++ {
			for c := 0; c < out.C; c++ {
				src := b.Data[(n*b.C+c%b.C)*plane:][:plane]
				dst := out.Data[(n*out.C+c)*plane:][:plane]
				g := float32(1 + c/b.C)
				for i, v := range src {
					// A nonlinearity per copy, so copies are not collinear.
					dst[i] = g*v + float32(math.Sin(float64(g*v)))
				}
			}
		}
		f[name] = out
	}
	return f, nil
}

// bruteForceDistanceCheck recomputes the Mahalanobis distance of one test
// image at position p from the training embeddings in float64, with a
// Gaussian elimination solve, and compares it with Score's patch grid value
// recovered from the model's own parts.
func bruteForceDistanceCheck(t *testing.T, m *Model, bb backbones.Backbone, testPath string, p int) {
	t.Helper()
	emb, err := newEmbedding(bb.Layers(), m.Header.Layers, m.Header.Channels)
	if err != nil {
		t.Fatal(err)
	}
	d := m.Header.D
	positions := m.Header.GridH * m.Header.GridW
	vec := func(path string) []float64 {
		x := loadBatch(t, path)
		f, err := bb.Forward(x, m.Header.Layers)
		if err != nil {
			t.Fatal(err)
		}
		all := make([]float64, positions*d)
		gather(f, emb.refs, 0, m.Header.GridH, m.Header.GridW, all, d)
		return all[p*d : (p+1)*d]
	}
	var train [][]float64
	for _, s := range trainSamples(m.Header.NTrain) {
		train = append(train, vec(s.Path))
	}
	n := float64(len(train))
	mu := make([]float64, d)
	for _, v := range train {
		for i := range mu {
			mu[i] += v[i] / n
		}
	}
	a := make([][]float64, d)
	for i := range a {
		a[i] = make([]float64, d+1)
		for j := 0; j < d; j++ {
			for _, v := range train {
				a[i][j] += (v[i] - mu[i]) * (v[j] - mu[j]) / (n - 1)
			}
		}
		a[i][i] += m.Header.Epsilon
	}
	x := vec(testPath)
	for i := range a {
		a[i][d] = x[i] - mu[i]
	}
	// Solve Sigma z = x - mu by elimination with partial pivoting.
	for c := 0; c < d; c++ {
		piv := c
		for r := c + 1; r < d; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[piv][c]) {
				piv = r
			}
		}
		a[c], a[piv] = a[piv], a[c]
		for r := c + 1; r < d; r++ {
			k := a[r][c] / a[c][c]
			for j := c; j <= d; j++ {
				a[r][j] -= k * a[c][j]
			}
		}
	}
	z := make([]float64, d)
	for r := d - 1; r >= 0; r-- {
		s := a[r][d]
		for j := r + 1; j < d; j++ {
			s -= a[r][j] * z[j]
		}
		z[r] = s / a[r][r]
	}
	want := 0.0
	for i := range z {
		want += z[i] * (x[i] - mu[i])
	}
	want = math.Sqrt(want)
	xs := make([]float32, d)
	for i, v := range x {
		xs[i] = float32(v)
	}
	got, err := Mahalanobis(context.Background(), m.Mean[p*d:(p+1)*d], m.Cholesky[p*packedLen(d):(p+1)*packedLen(d)], 1, d, xs, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !relClose(float64(got[0]), want, 2e-3) {
		t.Errorf("position %d: Mahalanobis %v, float64 brute force %v", p, got[0], want)
	}
}

// An all-black (constant) training set has zero sample covariance, so each
// position's Gaussian is N(mu, eps I): the distance of any test vector is
// |x - mu| / sqrt(eps), which this checks exactly, and the training image
// itself scores 0.
func TestFitConstantImages(t *testing.T) {
	ctx := context.Background()
	black := float32(-2.1) // ImageNet-normalised black, roughly
	m, err := Fit(ctx, FitConfig{D: 6, Seed: 2}, fakeBackbone{}, trainSamples(4), constantLoader{black}, nil)
	if err != nil {
		t.Fatalf("constant training set: %v", err)
	}
	d := m.Header.D
	for p := 0; p < m.Header.GridH*m.Header.GridW; p++ {
		u := m.Cholesky[p*packedLen(d) : (p+1)*packedLen(d)]
		off := 0
		for r := 0; r < d; r++ {
			for c := r; c < d; c++ {
				want := 0.0 // Sigma = eps I, so U = sqrt(eps) I
				if r == c {
					want = math.Sqrt(m.Header.Epsilon)
				}
				if math.Abs(float64(u[off+c-r])-want) > 1e-6 {
					t.Fatalf("position %d: covariance factor (%d,%d) = %v, want %v", p, r, c, u[off+c-r], want)
				}
			}
			off += d - r
		}
	}
	self, _ := constantLoader{black}.Image("")
	res, err := m.Score(ctx, fakeBackbone{}, self)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Score != 0 {
		t.Errorf("a training image scores %v against a constant model, want 0", res[0].Score)
	}
	grey, _ := constantLoader{0}.Image("")
	res, err = m.Score(ctx, fakeBackbone{}, grey)
	if err != nil {
		t.Fatal(err)
	}
	// Every feature of the fake backbone on a constant image c is a known
	// function of c; recompute the distance at one position.
	fb, _ := fakeBackbone{}.Forward(self, m.Header.Layers)
	fg, _ := fakeBackbone{}.Forward(grey, m.Header.Layers)
	emb, _ := newEmbedding(fakeBackbone{}.Layers(), m.Header.Layers, m.Header.Channels)
	vb, vg := make([]float64, d*64), make([]float64, d*64)
	gather(fb, emb.refs, 0, 8, 8, vb, d)
	gather(fg, emb.refs, 0, 8, 8, vg, d)
	sq := 0.0
	for i := 0; i < d; i++ {
		sq += (vg[i] - vb[i]) * (vg[i] - vb[i])
	}
	want := math.Sqrt(sq / m.Header.Epsilon) // constant over positions, so the blurred map is too
	if !relClose(res[0].Score, want, 1e-4) {
		t.Errorf("constant test image scores %v, want |x-mu|/sqrt(eps) = %v", res[0].Score, want)
	}
}

// Non-finite activations are errors naming the stage (backbone features),
// the layer and the image, at fit and at scoring time; they never reach
// the covariances or a metric.
func TestNonFiniteFeatures(t *testing.T) {
	ctx := context.Background()
	good, err := Fit(ctx, FitConfig{D: 5, Seed: 1}, fakeBackbone{}, trainSamples(4), fakeLoader{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		bad   float32
		layer string
	}{{float32(math.NaN()), "layer2"}, {float32(math.Inf(1)), "layer3"}, {float32(math.Inf(-1)), "layer1"}} {
		t.Run(fmt.Sprint(tc.bad, tc.layer), func(t *testing.T) {
			bb := poisonedBackbone{bad: tc.bad, layer: tc.layer}
			_, err := Fit(ctx, FitConfig{D: 5, Seed: 1, BatchSize: 2}, bb, trainSamples(4), fakeLoader{}, nil)
			if err == nil {
				t.Fatal("fit accepted non-finite features")
			}
			for _, want := range []string{"features", "layer " + tc.layer, "train/img-1", fmt.Sprint(tc.bad)} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("fit error %q does not mention %q", err, want)
				}
			}
			_, err = good.Score(ctx, bb, loadBatch(t, "t/img-7", "t/img-8"))
			if err == nil {
				t.Fatal("score accepted non-finite features")
			}
			for _, want := range []string{"features", "layer " + tc.layer, "test image 1"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("score error %q does not mention %q", err, want)
				}
			}
		})
	}
	// A model whose arrays hold a NaN (a file written by another tool
	// passes the checksum) is caught at the distance stage.
	bad := *good
	bad.Cholesky = append([]float32(nil), good.Cholesky...)
	bad.Cholesky[3] = float32(math.NaN())
	if _, err := bad.Score(ctx, fakeBackbone{}, loadBatch(t, "t/img-7")); err == nil || !strings.Contains(err.Error(), "Mahalanobis") {
		t.Errorf("NaN covariance factor: error %v, want the Mahalanobis stage named", err)
	}
}

// TestFitOneImage: N = 1 has no sample covariance; the error says so.
func TestFitOneImage(t *testing.T) {
	_, err := Fit(context.Background(), FitConfig{D: 3}, fakeBackbone{}, trainSamples(1), fakeLoader{}, nil)
	if err == nil || !strings.Contains(err.Error(), "at least 2 training images") || !strings.Contains(err.Error(), "have 1") {
		t.Fatalf("one image: error %v", err)
	}
}

// The model file is a function of the data, the seed and the binary only:
// fitting twice, under GOMAXPROCS 1 and 2 and BLAS threads 1 and 2, gives
// byte-identical files; SOURCE_DATE_EPOCH adds a fixed time.
func TestModelFileDeterministic(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "")
	os.Unsetenv("SOURCE_DATE_EPOCH")
	dir := t.TempDir()
	fit := func(name string, procs, blasThreads int, cfg FitConfig) []byte {
		t.Helper()
		prev := runtime.GOMAXPROCS(procs)
		defer runtime.GOMAXPROCS(prev)
		blas.SetThreads(blasThreads)
		defer blas.SetThreads(1)
		m, err := Fit(context.Background(), cfg, fakeBackbone{}, trainSamples(9), fakeLoader{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := m.WriteFile(p); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, cfg := range []FitConfig{{D: 7, Seed: 3}, {Selection: SelectPCA, D: 4}} {
		ref := fit("ref", 1, 1, cfg)
		if bytes.Contains(ref, []byte(`"time"`)) {
			t.Errorf("%s: model header records a time without SOURCE_DATE_EPOCH", cfg.Selection)
		}
		for _, v := range []struct{ procs, threads int }{{1, 1}, {2, 1}, {2, 2}, {1, 2}} {
			if got := fit("again", v.procs, v.threads, cfg); !bytes.Equal(got, ref) {
				t.Errorf("%s: GOMAXPROCS %d, BLAS threads %d: model file differs from the first fit", cfg.Selection, v.procs, v.threads)
			}
		}
	}
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	a := fit("a", 2, 1, FitConfig{D: 7, Seed: 3})
	if !bytes.Contains(a, []byte(`"time":"2023-11-14T22:13:20Z"`)) {
		t.Errorf("SOURCE_DATE_EPOCH=1700000000 not recorded as 2023-11-14T22:13:20Z")
	}
	if b := fit("b", 1, 1, FitConfig{D: 7, Seed: 3}); !bytes.Equal(a, b) {
		t.Error("with SOURCE_DATE_EPOCH set, two fits differ")
	}
	t.Setenv("SOURCE_DATE_EPOCH", "yesterday")
	if _, err := Fit(context.Background(), FitConfig{D: 3}, fakeBackbone{}, trainSamples(3), fakeLoader{}, nil); err == nil || !strings.Contains(err.Error(), "SOURCE_DATE_EPOCH") {
		t.Errorf("bad SOURCE_DATE_EPOCH: %v", err)
	}
}

// Scores, not just files: the same model scores a batch bit-identically
// under GOMAXPROCS 1 and 2.
func TestScoreDeterministicAcrossGOMAXPROCS(t *testing.T) {
	m, err := Fit(context.Background(), FitConfig{D: 8, Seed: 3}, fakeBackbone{}, trainSamples(9), fakeLoader{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	imgs := loadBatch(t, "t/img-40", "t/anomaly-41", "t/img-42")
	var ref []Result
	for _, procs := range []int{1, 2, 1} {
		prev := runtime.GOMAXPROCS(procs)
		res, err := m.Score(context.Background(), fakeBackbone{}, imgs)
		runtime.GOMAXPROCS(prev)
		if err != nil {
			t.Fatal(err)
		}
		if ref == nil {
			ref = res
			continue
		}
		for i := range res {
			if res[i].Score != ref[i].Score {
				t.Fatalf("GOMAXPROCS %d: image %d score %v, first run %v", procs, i, res[i].Score, ref[i].Score)
			}
			for j := range res[i].Map {
				if res[i].Map[j] != ref[i].Map[j] {
					t.Fatalf("GOMAXPROCS %d: image %d map[%d] differs", procs, i, j)
				}
			}
		}
	}
}

// A model file from another format version is refused with both versions
// named, before anything else is read; an older version also says to fit
// again (version 1 held inverse covariances, not Cholesky factors).
func TestModelFileOtherVersion(t *testing.T) {
	m := fittedModel(t, FitConfig{D: 3})
	path := filepath.Join(t.TempDir(), "m.padim")
	if err := m.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(path)
	for _, tc := range []struct {
		version uint8
		refit   bool
	}{{FormatVersion + 1, false}, {oldestFormatVersion - 1, true}} {
		b := append([]byte(nil), good...)
		b[8] = tc.version
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ReadModel(path)
		want := fmt.Sprintf("format version %d, this program reads version %d", tc.version, FormatVersion)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), want) {
			t.Fatalf("error %v, want the file and %q", err, want)
		}
		if got := strings.Contains(err.Error(), "fit the model again"); got != tc.refit {
			t.Errorf("version %d: error %q, advice to fit again %v, want %v", tc.version, err, got, tc.refit)
		}
	}
}

// Header sizes whose array lengths would overflow int64 in the layout
// arithmetic are rejected by validation, before any layout is computed.
func TestHeaderRejectsOverflowingSizes(t *testing.T) {
	ch := make([]int, 1<<16)
	for i := range ch {
		ch[i] = i
	}
	for _, tc := range []struct {
		gh, gw, d int
		ok        bool
	}{{1 << 16, 1 << 16, 1 << 16, false}, {1 << 16, 1 << 16, 2, true}, {56, 56, 550, true}, {1 << 12, 1 << 12, 1 << 10, false}, {1 << 10, 1 << 10, 1 << 10, true}} {
		h := Header{Backbone: "b", Layers: []string{"l"}, TotalChannels: tc.d, Selection: SelectIndices, Channels: ch[:tc.d], D: tc.d,
			GridH: tc.gh, GridW: tc.gw, NTrain: 2}
		err := h.validate()
		if tc.ok != (err == nil) {
			t.Errorf("grid %dx%d d %d: validate = %v", tc.gh, tc.gw, tc.d, err)
		}
		if err == nil {
			if l := h.layout(100); l.size <= 0 || l.cholLen != int64(tc.gh*tc.gw)*int64(tc.d)*int64(tc.d+1)/2 {
				t.Errorf("grid %dx%d d %d: layout %+v", tc.gh, tc.gw, tc.d, l)
			}
		}
	}
}
