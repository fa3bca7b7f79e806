package experiments

import (
	"context"
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/padim-go/padim/datasets"
	"github.com/padim-go/padim/internal/tensor"
)

// meanScorer scores each image by its mean value and records the order of
// the images it sees.
type meanScorer struct{ seen []float64 }

func (s *meanScorer) ScoreBatch(_ context.Context, x *tensor.Tensor) ([]float64, [][]float32, error) {
	per := x.C * x.H * x.W
	scores := make([]float64, x.N)
	maps := make([][]float32, x.N)
	for i := range scores {
		var sum float64
		for _, v := range x.Data[i*per : (i+1)*per] {
			sum += float64(v)
		}
		scores[i] = sum / float64(per)
		maps[i] = make([]float32, x.H*x.W)
		s.seen = append(s.seen, scores[i])
	}
	return scores, maps, nil
}

// writeGray writes a w x h PNG of one gray level.
func writeGray(t *testing.T, path string, level uint8) {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	for i := range img.Pix {
		img.Pix[i] = level
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestScoreSplitPrefetchKeepsOrderAndErrors scores 11 images in groups of
// 3 (the next group decoded while one is scored): every image once, in
// split order; a broken file in the third group stops the run with an
// error naming it; a cancelled context stops it with the context's error.
func TestScoreSplitPrefetchKeepsOrderAndErrors(t *testing.T) {
	dir := t.TempDir()
	split := &datasets.Split{Name: "t"}
	for i := 0; i < 11; i++ {
		p := filepath.Join(dir, string(rune('a'+i))+".png")
		writeGray(t, p, uint8(20*i))
		split.Test = append(split.Test, datasets.Sample{Path: p, Label: i % 2})
	}
	pre := datasets.Preprocess{Height: 8, Width: 8}
	s := &meanScorer{}
	scored, err := ScoreSplit(context.Background(), s, split, pre, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(scored.Scores) != 11 || len(s.seen) != 11 {
		t.Fatalf("%d scores, scorer saw %d images, want 11", len(scored.Scores), len(s.seen))
	}
	for i := 1; i < 11; i++ {
		if !(scored.Scores[i] > scored.Scores[i-1]) || scored.Samples[i].Path != split.Test[i].Path || scored.Labels[i] != (i%2 == 1) {
			t.Fatalf("image %d out of order: scores %v", i, scored.Scores)
		}
	}

	broken := split.Test[7].Path
	if err := os.WriteFile(broken, []byte("not a png"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ScoreSplit(context.Background(), &meanScorer{}, split, pre, 3, nil); err == nil || !strings.Contains(err.Error(), broken) {
		t.Fatalf("broken image: error %v, want one naming %s", err, broken)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ScoreSplit(ctx, &meanScorer{}, split, pre, 3, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: error %v, want context.Canceled", err)
	}
}
