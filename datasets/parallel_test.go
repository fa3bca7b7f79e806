package datasets

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

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

// TestPrefetch checks the batches (bounds, order, values), the stop at the
// first error, and that a cancelled context closes the channel.
func TestPrefetch(t *testing.T) {
	var calls atomic.Int64
	batches, stop := Prefetch(context.Background(), 10, 4, func(start, end int) (int, error) {
		calls.Add(1)
		return start*100 + end, nil
	})
	var got []Batch[int]
	for b := range batches {
		got = append(got, b)
	}
	stop()
	want := []Batch[int]{{0, 4, 4, nil}, {4, 8, 408, nil}, {8, 10, 810, nil}}
	if fmt.Sprint(got) != fmt.Sprint(want) || calls.Load() != 3 {
		t.Fatalf("batches %v from %d calls, want %v from 3", got, calls.Load(), want)
	}

	calls.Store(0)
	batches, stop = Prefetch(context.Background(), 10, 2, func(start, end int) (int, error) {
		calls.Add(1)
		if start == 4 {
			return 0, errors.New("broken")
		}
		return start, nil
	})
	got = got[:0]
	for b := range batches {
		got = append(got, b)
	}
	stop()
	if len(got) != 3 || got[2].Err == nil || got[2].Start != 4 || calls.Load() != 3 {
		t.Fatalf("with an error at batch 2: %v from %d calls", got, calls.Load())
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	batches, stop = Prefetch(ctx, 10, 2, func(start, end int) (int, error) { return start, nil })
	defer stop()
	for b := range batches {
		t.Fatalf("cancelled context still gave batch %v", b)
	}

	// stop before reading everything ends the goroutine (and may be called twice).
	batches, stop = Prefetch(context.Background(), 1000, 1, func(start, end int) (int, error) { return start, nil })
	<-batches
	stop()
	stop()
	for range batches {
	}
}

// TestReceiveReturnsOnCancel: a cancelled run does not wait for the batch
// being loaded (here a load that only ends when the test releases it).
func TestReceiveReturnsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	release := make(chan struct{})
	defer close(release)
	batches, stop := Prefetch(ctx, 4, 2, func(start, end int) (int, error) {
		<-release
		return start, nil
	})
	defer stop()
	cancel()
	done := make(chan error, 1)
	go func() {
		_, ok, err := Receive(ctx, batches)
		if ok {
			err = errors.New("received a batch")
		}
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Receive = %v, want context.Canceled", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Receive waited for the batch being loaded")
	}
}
