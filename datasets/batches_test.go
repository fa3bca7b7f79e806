package datasets

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/padim-go/padim/nchw"
)

// numberImage loads path "<v>" as a 1 x 1 x 1 x 2 image holding v twice.
func numberImage(path string) (*nchw.Tensor, error) {
	v, err := strconv.Atoi(path)
	if err != nil {
		return nil, fmt.Errorf("%s: not a number", path)
	}
	return nchw.FromData(1, 1, 1, 2, []float32{float32(v), float32(v)})
}

// TestBatchReader checks the batches handed to use (bounds, paths, stacked
// values, order), the progress calls, and that a failing file, a failing
// use and a cancelled context each stop the loop with their error.
func TestBatchReader(t *testing.T) {
	paths := make([]string, 11)
	for i := range paths {
		paths[i] = strconv.Itoa(10 * i)
	}
	var progress [][2]int
	r := BatchReader{Size: 4, Workers: 2, Load: numberImage, Progress: func(done, total int) { progress = append(progress, [2]int{done, total}) }}
	var got []string
	err := r.Each(context.Background(), paths, func(b ImageBatch) error {
		if b.X.N != b.End-b.Start || !slices.Equal(b.Paths, paths[b.Start:b.End]) {
			return fmt.Errorf("batch %d..%d: %v for paths %v", b.Start, b.End, b.X, b.Paths)
		}
		for n := 0; n < b.X.N; n++ {
			if b.X.At(n, 0, 0, 1) != float32(10*(b.Start+n)) {
				return fmt.Errorf("batch %d..%d: image %d holds %v", b.Start, b.End, n, b.X.Image(n).Data)
			}
		}
		got = append(got, fmt.Sprintf("%d-%d", b.Start, b.End))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"0-4", "4-8", "8-11"}; !slices.Equal(got, want) {
		t.Errorf("batches %v, want %v", got, want)
	}
	if want := [][2]int{{4, 11}, {8, 11}, {11, 11}}; !slices.Equal(progress, want) {
		t.Errorf("progress %v, want %v", progress, want)
	}

	bad := slices.Clone(paths)
	bad[6] = "six"
	calls := 0
	err = BatchReader{Size: 4, Load: numberImage}.Each(context.Background(), bad, func(ImageBatch) error { calls++; return nil })
	if err == nil || !strings.Contains(err.Error(), "six: not a number") || calls != 1 {
		t.Errorf("bad file in batch 2: error %v after %d batches, want the file named after 1", err, calls)
	}

	stopped := errors.New("stop here")
	err = BatchReader{Size: 4, Load: numberImage}.Each(context.Background(), paths, func(b ImageBatch) error {
		if b.Start == 4 {
			return stopped
		}
		return nil
	})
	if !errors.Is(err, stopped) {
		t.Errorf("use's error: got %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	err = BatchReader{Size: 2, Load: numberImage}.Each(ctx, paths, func(ImageBatch) error { cancel(); return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled during the first batch: error %v, want context.Canceled", err)
	}

	mixed := func(path string) (*nchw.Tensor, error) {
		if path == "20" {
			return nchw.New(1, 1, 2, 2), nil
		}
		return numberImage(path)
	}
	err = BatchReader{Size: 4, Load: mixed}.Each(context.Background(), paths, func(ImageBatch) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "batch starting at 0") {
		t.Errorf("images of two sizes in one batch: error %v, want the batch's first file named", err)
	}
}
