package experiments

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"slices"
	"sync"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/internal/tensor"
	"github.com/padim-go/padim/nchw"
)

// FeatureCache memoises backbone outputs per input image, so the many runs
// of an ablation on one dataset (other d, seeds, PCA, layer subsets, SPADE)
// compute each image's features once. Entries are keyed by the backbone
// instance's identity and the bytes of the preprocessed image, and evicted
// oldest first beyond MaxBytes. Results are identical with and without it:
// a cached image gets exactly the tensors the backbone returned for it.
type FeatureCache struct {
	MaxBytes int64

	mu      sync.Mutex
	entries map[cacheKey]*cacheEntry
	order   []cacheKey // insertion order, for eviction
	bytes   int64
	hits    int
}

type cacheKey struct {
	backbone string // backbone name + weights sha256
	image    [32]byte
}

type cacheEntry struct {
	layers map[string]*nchw.Tensor // 1 x C x H x W each
	bytes  int64
}

// Wrap returns bb with its Forward going through the cache. id must
// identify the backbone's weights (e.g. name and sha256). On a miss the
// prefetch layers are computed along with the requested ones, so runs that
// ask for different subsets of them (the layer ablation) share one pass.
func (c *FeatureCache) Wrap(bb backbones.Backbone, id string, prefetch ...string) backbones.Backbone {
	if c == nil || c.MaxBytes <= 0 {
		return bb
	}
	return &cachedBackbone{Backbone: bb, id: id, c: c, prefetch: prefetch}
}

type cachedBackbone struct {
	backbones.Backbone
	id       string
	c        *FeatureCache
	prefetch []string
}

// union is layers followed by the prefetch layers it lacks.
func (cb *cachedBackbone) union(layers []string) []string {
	out := append([]string(nil), layers...)
	for _, p := range cb.prefetch {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

func imageKey(x *nchw.Tensor) [32]byte {
	h := sha256.New()
	var b [4]byte
	for _, v := range x.Data {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
		h.Write(b[:])
	}
	var k [32]byte
	copy(k[:], h.Sum(nil))
	return k
}

// Forward serves cached images from memory and runs the backbone on the
// others as one batch, for the union of the requested layers and those the
// image had cached, so a later request for more layers is served too.
func (cb *cachedBackbone) Forward(x *nchw.Tensor, layers []string) (backbones.Features, error) {
	keys := make([]cacheKey, x.N)
	var missing []int
	cb.c.mu.Lock()
	for i := 0; i < x.N; i++ {
		keys[i] = cacheKey{cb.id, imageKey(x.Image(i))}
		e := cb.c.entries[keys[i]]
		if e == nil || !hasLayers(e, layers) {
			missing = append(missing, i)
		}
	}
	cb.c.hits += x.N - len(missing)
	cb.c.mu.Unlock()

	if len(missing) > 0 {
		imgs := make([]*nchw.Tensor, len(missing))
		for j, i := range missing {
			imgs[j] = x.Image(i)
		}
		batch, err := tensor.Stack(imgs)
		if err != nil {
			return nil, err
		}
		f, err := cb.Backbone.Forward(batch, cb.union(layers))
		if err != nil {
			return nil, err
		}
		cb.c.mu.Lock()
		for j, i := range missing {
			e := &cacheEntry{layers: map[string]*nchw.Tensor{}}
			for name, t := range f {
				e.layers[name] = t.Image(j).Clone()
				e.bytes += int64(len(t.Image(j).Data)) * 4
			}
			cb.c.put(keys[i], e)
		}
		cb.c.mu.Unlock()
		if len(missing) == x.N {
			out := backbones.Features{}
			for _, l := range layers {
				out[l] = f[l]
			}
			return out, nil
		}
	}
	// Assemble the batch from the cache (every image is present now unless
	// the cache evicted one of this very batch, which MaxBytes >= a batch prevents).
	out := backbones.Features{}
	cb.c.mu.Lock()
	defer cb.c.mu.Unlock()
	for _, name := range layers {
		items := make([]*nchw.Tensor, x.N)
		for i := range items {
			e := cb.c.entries[keys[i]]
			if e == nil || e.layers[name] == nil {
				cb.c.mu.Unlock()
				f, err := cb.Backbone.Forward(x, layers) // evicted meanwhile: recompute the batch
				cb.c.mu.Lock()
				return f, err
			}
			items[i] = e.layers[name]
		}
		t, err := tensor.Stack(items)
		if err != nil {
			return nil, err
		}
		out[name] = t
	}
	return out, nil
}

func hasLayers(e *cacheEntry, layers []string) bool {
	for _, l := range layers {
		if e.layers[l] == nil {
			return false
		}
	}
	return true
}

func (c *FeatureCache) put(k cacheKey, e *cacheEntry) {
	if c.entries == nil {
		c.entries = map[cacheKey]*cacheEntry{}
	}
	if old := c.entries[k]; old != nil {
		c.bytes -= old.bytes
		for name, t := range old.layers { // keep layers the new entry lacks
			if e.layers[name] == nil {
				e.layers[name] = t
				e.bytes += int64(len(t.Data)) * 4
			}
		}
	} else {
		c.order = append(c.order, k)
	}
	c.entries[k] = e
	c.bytes += e.bytes
	for c.bytes > c.MaxBytes && len(c.order) > 1 {
		oldest := c.order[0]
		c.order = c.order[1:]
		if o := c.entries[oldest]; o != nil && oldest != k {
			c.bytes -= o.bytes
			delete(c.entries, oldest)
		}
	}
}

// Hits is how many images were served from the cache.
func (c *FeatureCache) Hits() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits
}
