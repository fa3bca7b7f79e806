package imgproc

import (
	"fmt"
	"math"
)

// GaussianKernel returns the normalised 1-D Gaussian weights
// scipy.ndimage.gaussian_filter1d uses for sigma with truncate=4.0: radius
// r = int(4*sigma + 0.5) and 2r+1 taps exp(-x^2 / (2 sigma^2)), x = -r..r,
// divided by their sum. For sigma=4 that is r=16, 33 taps.
func GaussianKernel(sigma float64) []float64 {
	if !(sigma > 0) || math.IsInf(sigma, 0) {
		panic(fmt.Sprintf("imgproc: Gaussian sigma %v must be positive and finite", sigma))
	}
	r := int(4*sigma + 0.5)
	k := make([]float64, 2*r+1)
	var sum float64
	for i := range k {
		x := float64(i - r)
		k[i] = math.Exp(-0.5 / (sigma * sigma) * x * x)
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	return k
}

// reflectIndex maps a coordinate outside [0, n) into it the way scipy's
// mode="reflect" does: the signal is mirrored about the pixel edges
// (d c b a | a b c d | d c b a), repeating with period 2n, so kernels wider
// than the image still get a defined border.
func reflectIndex(i, n int) int {
	period := 2 * n
	i %= period
	if i < 0 {
		i += period
	}
	if i >= n {
		i = period - 1 - i
	}
	return i
}

// GaussianBlur smooths the h x w image img in place exactly as
// scipy.ndimage.gaussian_filter(img, sigma) does with its defaults:
// separable correlation with GaussianKernel(sigma) (33 taps for sigma=4),
// border mode "reflect" (half-sample symmetric), first along the rows axis
// (axis 0, vertical) and then along the columns axis (axis 1). Each pass
// accumulates in float64 and stores float32, as scipy does for a float32
// array, so results match scipy to float32 rounding.
//
// It panics if len(img) != h*w or sigma is not positive.
func GaussianBlur(img []float32, h, w int, sigma float64) {
	if h <= 0 || w <= 0 {
		panic(fmt.Sprintf("imgproc: GaussianBlur %dx%d: sizes must be positive", h, w))
	}
	if len(img) != h*w {
		panic(fmt.Sprintf("imgproc: GaussianBlur: %d values for a %dx%d image", len(img), h, w))
	}
	k := GaussianKernel(sigma)
	r := len(k) / 2

	// Vertical pass: every output row is a weighted sum of 2r+1 reflected
	// input rows. Rows are combined whole, so the inner loop runs along
	// contiguous memory; acc holds one float64 output row.
	src := make([]float32, h*w)
	copy(src, img)
	acc := make([]float64, w)
	for y := 0; y < h; y++ {
		centre := src[y*w : y*w+w]
		for x, v := range centre {
			acc[x] = k[r] * float64(v)
		}
		// The kernel is symmetric: add mirrored row pairs first and
		// multiply once, farthest pair first, as scipy's correlate1d does.
		for j := r; j >= 1; j-- {
			up := reflectIndex(y-j, h)
			down := reflectIndex(y+j, h)
			a := src[up*w : up*w+w]
			b := src[down*w : down*w+w]
			kj := k[r+j]
			for x := range acc {
				acc[x] += (float64(a[x]) + float64(b[x])) * kj
			}
		}
		out := img[y*w : y*w+w]
		for x, v := range acc {
			out[x] = float32(v)
		}
	}

	// Horizontal pass: copy each row into a padded line once so the taps
	// need no border tests.
	line := make([]float64, w+2*r)
	for y := 0; y < h; y++ {
		row := img[y*w : y*w+w]
		for i := range line {
			line[i] = float64(row[reflectIndex(i-r, w)])
		}
		for x := range row {
			win := line[x : x+len(k)]
			s := k[r] * win[r]
			for j := r; j >= 1; j-- {
				s += (win[r-j] + win[r+j]) * k[r+j]
			}
			row[x] = float32(s)
		}
	}
}
