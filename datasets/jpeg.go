package datasets

import "image"

// libjpeg's YCbCr to RGB tables (jdcolor.c, 16-bit fixed point with a
// rounding half), so colour conversion matches what PIL gets from libjpeg.
var (
	crToR, cbToB, crToG, cbToG [256]int32
)

func init() {
	fix := func(x float64) int32 { return int32(x*(1<<16) + 0.5) }
	for i := range 256 {
		x := int32(i - 128)
		crToR[i] = (fix(1.40200)*x + 1<<15) >> 16
		cbToB[i] = (fix(1.77200)*x + 1<<15) >> 16
		crToG[i] = -fix(0.71414) * x
		cbToG[i] = -fix(0.34414)*x + 1<<15
	}
}

func clamp255(v int32) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// jpegYCbCrToRGB converts a decoded YCbCr jpeg the way libjpeg(-turbo)
// does by default, which is what PIL uses: 4:2:2, 4:2:0 and 4:4:0 chroma
// is upsampled with libjpeg's "fancy" triangle filter (3/4 nearer + 1/4
// farther sample per direction, with libjpeg's alternating rounding
// biases and edge replication), not by the sample replication Go's
// image.YCbCr implies; then libjpeg's fixed-point colour conversion. The
// remaining difference from PIL is the IDCT (Go's and libjpeg's integer
// IDCTs round differently), a few levels at most.
func jpegYCbCrToRGB(m *image.YCbCr, out *RGB) {
	w, h := out.W, out.H
	cb := upsampleChroma(m, m.Cb, w, h)
	cr := upsampleChroma(m, m.Cr, w, h)
	for y := 0; y < h; y++ {
		yrow := m.Y[y*m.YStride:]
		for x := 0; x < w; x++ {
			yy := int32(yrow[x])
			b, r := cb[y*w+x], cr[y*w+x]
			o := 3 * (y*w + x)
			out.Pix[o] = clamp255(yy + crToR[r])
			out.Pix[o+1] = clamp255(yy + (cbToG[b]+crToG[r])>>16)
			out.Pix[o+2] = clamp255(yy + cbToB[b])
		}
	}
}

// upsampleChroma returns one chroma plane at full w x h resolution.
func upsampleChroma(m *image.YCbCr, plane []uint8, w, h int) []uint8 {
	out := make([]uint8, w*h)
	hs, vs := 1, 1 // horizontal and vertical subsampling factors
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio422:
		hs = 2
	case image.YCbCrSubsampleRatio420:
		hs, vs = 2, 2
	case image.YCbCrSubsampleRatio440:
		vs = 2
	case image.YCbCrSubsampleRatio411:
		hs = 4
	case image.YCbCrSubsampleRatio410:
		hs, vs = 4, 2
	}
	cw, ch := (w+hs-1)/hs, (h+vs-1)/vs // libjpeg's downsampled_width/height
	at := func(cx, cy int) int32 {
		cx = min(max(cx, 0), cw-1)
		cy = min(max(cy, 0), ch-1)
		return int32(plane[cy*m.CStride+cx])
	}
	fancy := hs == 2 && cw >= 2 || hs == 1 && vs == 2
	if !fancy {
		// 4:4:4, or ratios libjpeg upsamples by replication.
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				out[y*w+x] = uint8(at(x/hs, y/vs))
			}
		}
		return out
	}
	for y := 0; y < h; y++ {
		cy := y / vs
		// Vertical neighbour: the row above for even output rows, below for
		// odd ones (replicated at the edges).
		ny := cy
		if vs == 2 {
			if y%2 == 0 {
				ny = cy - 1
			} else {
				ny = cy + 1
			}
		}
		for x := 0; x < w; x++ {
			cx := x / hs
			var v int32
			switch {
			case hs == 2 && vs == 2:
				this := at(cx, cy)*3 + at(cx, ny)
				var other int32
				var bias int32 = 8
				if x%2 == 0 {
					other = at(cx-1, cy)*3 + at(cx-1, ny)
				} else {
					other = at(cx+1, cy)*3 + at(cx+1, ny)
					bias = 7
				}
				v = (this*3 + other + bias) >> 4
			case hs == 2: // 4:2:2
				this := at(cx, cy) * 3
				if x%2 == 0 {
					v = (this + at(cx-1, cy) + 1) >> 2
				} else {
					v = (this + at(cx+1, cy) + 2) >> 2
				}
			default: // 4:4:0
				var bias int32 = 1
				if y%2 == 1 {
					bias = 2
				}
				v = (at(cx, cy)*3 + at(cx, ny) + bias) >> 2
			}
			out[y*w+x] = uint8(v)
		}
	}
	return out
}
