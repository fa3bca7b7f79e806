package experiments

import (
	"fmt"
	"sync"

	"github.com/padim-go/padim/datasets"
	"github.com/padim-go/padim/nchw"
)

// Loader is what fitting and scoring need from preprocessing.
// datasets.Preprocess is one; ImageCache.Loader wraps one with a cache.
// Images are decoded on several goroutines at once, so a Loader must be
// safe for concurrent use.
type Loader interface {
	Image(path string) (*nchw.Tensor, error)
	SampleMask(s datasets.Sample) ([]bool, error)
	Size() (h, w int)
}

// ImageCache keeps preprocessed image tensors, so the runs of a table on one
// dataset decode and resample each file once. Entries are keyed by the
// preprocessing settings and the path; the oldest are evicted beyond MaxBytes.
// Cached tensors are shared: callers must not modify them (tensor.Stack copies).
type ImageCache struct {
	MaxBytes int64

	mu      sync.Mutex
	entries map[string]*nchw.Tensor
	order   []string
	bytes   int64
}

// Loader returns pre with Image going through the cache.
func (c *ImageCache) Loader(pre datasets.Preprocess) Loader {
	if c == nil || c.MaxBytes <= 0 {
		return pre
	}
	return cachedLoader{Preprocess: pre, c: c, prefix: fmt.Sprintf("%+v|", pre)}
}

type cachedLoader struct {
	datasets.Preprocess
	c      *ImageCache
	prefix string
}

func (l cachedLoader) Image(path string) (*nchw.Tensor, error) {
	k := l.prefix + path
	l.c.mu.Lock()
	t := l.c.entries[k]
	l.c.mu.Unlock()
	if t != nil {
		return t, nil
	}
	t, err := l.Preprocess.Image(path)
	if err != nil {
		return nil, err
	}
	l.c.mu.Lock()
	defer l.c.mu.Unlock()
	if l.c.entries == nil {
		l.c.entries = map[string]*nchw.Tensor{}
	}
	if _, ok := l.c.entries[k]; !ok {
		l.c.entries[k] = t
		l.c.order = append(l.c.order, k)
		l.c.bytes += int64(len(t.Data)) * 4
		for l.c.bytes > l.c.MaxBytes && len(l.c.order) > 1 {
			old := l.c.order[0]
			l.c.order = l.c.order[1:]
			l.c.bytes -= int64(len(l.c.entries[old].Data)) * 4
			delete(l.c.entries, old)
		}
	}
	return t, nil
}
