package datasets

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/padim-go/padim/internal/tensor"
)

func TestLoadImagesOrderAndErrors(t *testing.T) {
	paths := make([]string, 37)
	for i := range paths {
		paths[i] = strconv.Itoa(i)
	}
	for _, workers := range []int{0, 1, 2, 5, 100} {
		var calls atomic.Int64
		got, err := LoadImages(paths, workers, func(p string) (*tensor.Tensor, error) {
			calls.Add(1)
			v, _ := strconv.Atoi(p)
			x := tensor.New(1, 1, 1, 1)
			x.Data[0] = float32(v)
			return x, nil
		})
		if err != nil {
			t.Fatalf("workers %d: %v", workers, err)
		}
		if len(got) != len(paths) || calls.Load() != int64(len(paths)) {
			t.Fatalf("workers %d: %d results from %d calls for %d paths", workers, len(got), calls.Load(), len(paths))
		}
		for i, x := range got {
			if x.Data[0] != float32(i) {
				t.Fatalf("workers %d: result %d holds image %v", workers, i, x.Data[0])
			}
		}
	}
	// Two bad paths: the error is always the earlier one's.
	for _, workers := range []int{1, 2, 8} {
		_, err := LoadImages(paths, workers, func(p string) (*tensor.Tensor, error) {
			if p == "30" || p == "7" {
				return nil, fmt.Errorf("%s: broken", p)
			}
			return tensor.New(1, 1, 1, 1), nil
		})
		if err == nil || err.Error() != "7: broken" {
			t.Fatalf("workers %d: error %v, want 7: broken", workers, err)
		}
	}
	if got, err := LoadImages(nil, 2, nil); err != nil || len(got) != 0 {
		t.Fatalf("no paths: %v, %v", got, err)
	}
}
