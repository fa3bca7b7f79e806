package main

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/datasets"
	"github.com/padim-go/padim/internal/sysmem"
)

// What a run holds is estimated from sizes alone (the preprocessing size,
// the embedding's grid and d, image headers), so a run that cannot fit is
// refused before any work instead of ending in "fatal error: runtime: out
// of memory" or the kernel's OOM killer. The estimates are lower bounds of
// the dominant buffers; they only need to be right in magnitude.

// backboneBytesPerPixel is the peak memory of one image's forward pass per
// input pixel: 300 bytes measured for ResNet-18 (`padim features` at
// 1024x1024 and 2048x2048, one thread: 362 MB and 1325 MB maximum RSS),
// rounded down. Wider backbones need more, so it is a lower bound for them.
const backboneBytesPerPixel = 300

// decodeBytesPerPixel is what decoding one source image costs per pixel:
// the decoded image (4 bytes for RGBA png, 8 for 16-bit) and its RGB copy.
const decodeBytesPerPixel = 7

// memoryItem is one named buffer of an estimate.
type memoryItem struct {
	what  string
	bytes float64
}

type memoryEstimate []memoryItem

func (e memoryEstimate) total() float64 {
	t := 0.0
	for _, it := range e {
		t += it.bytes
	}
	return t
}

// checkMemory refuses a run whose estimate is more than the memory the
// machine has available.
// hint says what the user can change.
func checkMemory(cmd string, e memoryEstimate, hint string) error {
	avail, source, ok := sysmem.Available()
	if !ok {
		return nil
	}
	need := e.total()
	if need <= float64(avail) {
		return nil
	}
	var parts []string
	for _, it := range e {
		if it.bytes >= 1e6 {
			parts = append(parts, fmt.Sprintf("%s %s", it.what, sysmem.Format(it.bytes)))
		}
	}
	return fmt.Errorf("%s: this run would need at least %s of memory (%s), but %s available (%s); %s",
		cmd, sysmem.Format(need), strings.Join(parts, "; "), sysmem.Format(float64(avail)), source, hint)
}

// inputItems are the buffers every command that runs the backbone holds:
// the largest source image decoded by each worker, a batch of input
// tensors (and the prefetched next one), and the backbone's activations.
func inputItems(pre datasets.Preprocess, batch int, largestW, largestH int) memoryEstimate {
	h, w := pre.Size()
	px := float64(h) * float64(w)
	workers := float64(min(runtime.GOMAXPROCS(0), max(batch, 1)))
	e := memoryEstimate{
		{fmt.Sprintf("backbone activations for %d images of %dx%d", batch, h, w), float64(batch) * px * backboneBytesPerPixel},
		{"input tensors", 2 * float64(batch) * px * 3 * 4},
	}
	if pre.Resize > 0 {
		// The resized image before the centre crop.
		e = append(e, memoryItem{fmt.Sprintf("resized images (%dx%d)", pre.Resize, pre.Resize), workers * float64(pre.Resize) * float64(pre.Resize) * 3 * 4})
	}
	if largestW > 0 {
		e = append(e, memoryItem{fmt.Sprintf("decoding %.0f images of up to %dx%d", workers, largestW, largestH),
			workers * float64(largestW) * float64(largestH) * decodeBytesPerPixel})
	}
	return e
}

// gridOf is the embedding grid for an input size: the first layer's output
// size, traced through the architecture (0x0 for an unknown layer, which
// the callers have checked already).
func gridOf(backbone string, layers []string, h, w int) (gh, gw int) {
	if len(layers) == 0 {
		return 0, 0
	}
	gh, gw, _ = backbones.OutputSize(backbone, layers[0], h, w)
	return gh, gw
}

// fitMemory estimates `padim fit`: the Gaussian accumulators (float64 shift,
// sum and packed second moments per position; Finalize writes the float32
// factors over the second moments), the means, the buffer of 64 images'
// embeddings, and with PCA the full covariance of all channels. For
// Wide-ResNet-50-2 at d=550 and 224x224 that is 3.8 GB + 7 MB + 0.44 GB,
// the figures padim.Fit's comments give.
func fitMemory(spec backbones.Spec, layers []string, d, total, batch int, pca bool, pre datasets.Preprocess, info datasets.SplitInfo) memoryEstimate {
	h, w := pre.Size()
	gh, gw := gridOf(spec.Name, layers, h, w)
	p, fd := float64(gh)*float64(gw), float64(d)
	tri := fd * (fd + 1) / 2
	e := memoryEstimate{
		{fmt.Sprintf("Gaussian accumulators for %dx%d positions x d=%d", gh, gw, d), p * (2*fd + tri) * 8},
		{"model means", p * fd * 4}, // the float32 Cholesky factors are written over the sums
		{"embedding buffer", p * 64 * fd * 4},
	}
	if pca {
		ft := float64(total)
		e = append(e, memoryItem{fmt.Sprintf("PCA covariance of %d channels", total), ft*ft*8 + p*ft*4})
	}
	return append(e, inputItems(pre, batch, info.LargestW, info.LargestH)...)
}

// scoreMemory estimates scoring n images of pre's size: each image's anomaly
// map (float32) is kept, with its mask and, for pixel AUROC and PRO, a
// score-label pair per pixel; the Mahalanobis step holds a group's
// embeddings.
func scoreMemory(pre datasets.Preprocess, gridH, gridW, d, n, batch int, masks bool, info datasets.SplitInfo) memoryEstimate {
	h, w := pre.Size()
	px := float64(h) * float64(w)
	perPixel := 4.0
	if masks {
		perPixel += 1 + 16
	}
	e := memoryEstimate{
		{fmt.Sprintf("anomaly maps of %d images of %dx%d", n, h, w), float64(n) * px * perPixel},
		{"embeddings of a scoring group", float64(batch) * float64(gridH) * float64(gridW) * float64(d) * 4 * 2},
	}
	return append(e, inputItems(pre, min(batch, 8), info.LargestW, info.LargestH)...)
}
