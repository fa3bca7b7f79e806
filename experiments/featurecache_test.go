package experiments

import (
	"testing"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/internal/tensor"
)

// countingBackbone returns, per image, layer "a" = 2x its pixels and layer
// "b" = its pixels + 1, and counts the images it processed.
type countingBackbone struct{ images int }

func (c *countingBackbone) Name() string { return "counting" }
func (c *countingBackbone) Layers() []backbones.Layer {
	return []backbones.Layer{{Name: "a", Channels: 1, Stride: 1}, {Name: "b", Channels: 1, Stride: 1}}
}
func (c *countingBackbone) Forward(x *tensor.Tensor, layers []string) (backbones.Features, error) {
	c.images += x.N
	f := backbones.Features{}
	for _, l := range layers {
		t := tensor.New(x.N, 1, x.H, x.W)
		for i := range t.Data {
			if l == "a" {
				t.Data[i] = 2 * x.Data[i]
			} else {
				t.Data[i] = x.Data[i] + 1
			}
		}
		f[l] = t
	}
	return f, nil
}

func batch(vals ...float32) *tensor.Tensor {
	t := tensor.New(len(vals), 1, 2, 2)
	for i, v := range vals {
		for j := 0; j < 4; j++ {
			t.Data[i*4+j] = v
		}
	}
	return t
}

func TestFeatureCacheServesIdenticalFeatures(t *testing.T) {
	inner := &countingBackbone{}
	c := &FeatureCache{MaxBytes: 1 << 20}
	bb := c.Wrap(inner, "counting|w")
	f1, err := bb.Forward(batch(1, 2, 3), []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	// Images 2 and 3 again, with a new one and a second layer: only what is new is computed.
	f2, err := bb.Forward(batch(2, 3, 4), []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if inner.images != 3+3 { // image 4, and 2, 3 again for the missing layer b
		t.Fatalf("backbone processed %d images, want 6", inner.images)
	}
	f3, err := bb.Forward(batch(3, 2), []string{"b", "a"})
	if err != nil {
		t.Fatal(err)
	}
	if inner.images != 6 || c.Hits() != 2 {
		t.Fatalf("third call computed (%d images total, %d hits), want all served from the cache", inner.images, c.Hits())
	}
	for _, tc := range []struct {
		f     backbones.Features
		layer string
		item  int
		want  float32
	}{{f1, "a", 0, 2}, {f1, "a", 2, 6}, {f2, "a", 0, 4}, {f2, "b", 2, 5}, {f3, "b", 0, 4}, {f3, "a", 1, 4}} {
		got := tc.f[tc.layer].Image(tc.item).Data
		for _, v := range got {
			if v != tc.want {
				t.Fatalf("layer %s item %d = %v, want %v", tc.layer, tc.item, got, tc.want)
			}
		}
	}
}

func TestFeatureCacheEvictsBeyondBudget(t *testing.T) {
	inner := &countingBackbone{}
	c := &FeatureCache{MaxBytes: 3 * 16} // three single-layer 2x2 float32 entries
	bb := c.Wrap(inner, "counting|w")
	for v := float32(0); v < 10; v++ {
		if _, err := bb.Forward(batch(v), []string{"a"}); err != nil {
			t.Fatal(err)
		}
	}
	if c.bytes > c.MaxBytes || len(c.entries) != 3 {
		t.Fatalf("cache holds %d bytes in %d entries, budget %d", c.bytes, len(c.entries), c.MaxBytes)
	}
	if _, err := bb.Forward(batch(0), []string{"a"}); err != nil || inner.images != 11 {
		t.Fatalf("evicted image was not recomputed (%d images, %v)", inner.images, err)
	}
	if off := (&FeatureCache{}).Wrap(inner, "x"); off != backbones.Backbone(inner) {
		t.Fatal("a zero-budget cache must not wrap")
	}
}

func TestFeatureCachePrefetch(t *testing.T) {
	inner := &countingBackbone{}
	c := &FeatureCache{MaxBytes: 1 << 20}
	bb := c.Wrap(inner, "counting|w", "a", "b")
	f, err := bb.Forward(batch(1, 2), []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	if len(f) != 1 || f["a"] == nil {
		t.Fatalf("returned layers %v, want only the requested one", f)
	}
	if _, err := bb.Forward(batch(2, 1), []string{"b"}); err != nil || inner.images != 2 {
		t.Fatalf("layer b was not prefetched: %d images computed, %v", inner.images, err)
	}
}
