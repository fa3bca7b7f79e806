package datasets

import (
	"context"
	"fmt"

	"github.com/padim-go/padim/internal/tensor"
	"github.com/padim-go/padim/nchw"
)

// ImageBatch is one batch of decoded images handed out by BatchReader.
type ImageBatch struct {
	Start, End int          // the batch is images Start..End-1 of the list read
	Paths      []string     // their files
	X          *nchw.Tensor // the images stacked: (End-Start) x C x H x W
}

// BatchReader feeds a backbone: it decodes a list of image files in
// batches and hands each batch, stacked into one tensor, to the caller.
// It is the data loop of fitting and scoring, written once.
type BatchReader struct {
	// Size is the number of images per batch (default 8).
	Size int
	// Workers is the number of goroutines decoding a batch (default
	// GOMAXPROCS).
	Workers int
	// Load decodes one image file into a 1 x C x H x W tensor. It is
	// called from several goroutines at once. Its errors are returned as
	// they are, so they should name the file (Preprocess.Image's do).
	Load func(path string) (*nchw.Tensor, error)
	// Progress, if not nil, is called after every batch with the number
	// of images done and the total.
	Progress func(done, total int)
}

// Each calls use on every batch of paths, in order. The next batch is
// decoded (on all cores) while use runs on this one, so decoding overlaps
// the backbone. ctx is checked between batches; use's error, ctx's or the
// first failing file's stops the loop and is returned. Images of one batch
// must share a size.
func (r BatchReader) Each(ctx context.Context, paths []string, use func(ImageBatch) error) error {
	size := r.Size
	if size <= 0 {
		size = 8
	}
	batches, stop := Prefetch(ctx, len(paths), size, func(start, end int) (*nchw.Tensor, error) {
		imgs, err := LoadImages(paths[start:end], r.Workers, r.Load)
		if err != nil {
			return nil, err
		}
		x, err := tensor.Stack(imgs)
		if err != nil {
			return nil, fmt.Errorf("batch starting at %s: %w", paths[start], err)
		}
		return x, nil
	})
	defer stop()
	for {
		b, ok, err := Receive(ctx, batches)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if b.Err != nil {
			return b.Err
		}
		if err := use(ImageBatch{Start: b.Start, End: b.End, Paths: paths[b.Start:b.End], X: b.Value}); err != nil {
			return err
		}
		if r.Progress != nil {
			r.Progress(b.End, len(paths))
		}
	}
	return ctx.Err()
}
