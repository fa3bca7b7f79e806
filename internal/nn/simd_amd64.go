//go:build amd64 && !purego

package nn

import "golang.org/x/sys/cpu"

// asmKernels reports that this build has the assembly kernels (amd64
// without the purego tag); whether they run depends on the CPU (simdEnabled,
// simd512, packedEnabled).
const asmKernels = true

// simdEnabled selects the AVX2+FMA assembly kernels of simd_*_amd64.s over
// the pure-Go ones. It is a variable so that the tests can run both paths
// on one machine; nothing else changes it after init.
var simdEnabled = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// The kernels below take any length and alignment: 8 floats per AVX2
// vector, the last 1..7 with masked loads and stores. Those returning an
// int process whole vectors in order and stop before the first one with a
// lane outside their range (see simdExp); the result is how many leading
// elements they wrote, and the caller finishes that vector in Go.

// simdBias adds b to every element of d.
//
//go:noescape
func simdBias(d []float32, b float32)

// simdBiasReLU sets d[i] = max(d[i]+b, 0), with NaN kept and -0 made +0
// as Go's max does.
//
//go:noescape
func simdBiasReLU(d []float32, b float32)

// simdScale multiplies every element of d by f.
//
//go:noescape
func simdScale(d []float32, f float32)

// simdAdd sets d[i] += s[i] for i < len(d); len(s) >= len(d).
//
//go:noescape
func simdAdd(d, s []float32)

// simdAddReLU sets d[i] = max(d[i]+s[i], 0) for i < len(d); len(s) >= len(d).
//
//go:noescape
func simdAddReLU(d, s []float32)

// simdMax3 sets d[i] = max(x[i], y[i], z[i]) for i < len(d), bit for bit
// as Go's max (NaN if any is NaN, +0 above -0); x, y and z hold at least
// len(d) elements.
//
//go:noescape
func simdMax3(d, x, y, z []float32)

// simdExp sets e[i] = exp(sign*x[i]) by expBlock's method for i < len(x)
// (len(e) >= len(x)), stopping before the first vector holding a value of
// sign*x outside (expLower, expUpper) or NaN.
//
//go:noescape
func simdExp(e, x []float32, sign float32) int

// simdBiasSiLU sets d[i] = v/(1+exp(-v)) with v = d[i]+b, the division in
// float32 as siluSlice does it, stopping before the first vector with a v
// outside (-87, -expLower) or NaN: those go to the Go code, which gives
// exp(-v) beyond its polynomial's range (up to +Inf) and quotients near
// the smallest normal float32 exactly.
//
//go:noescape
func simdBiasSiLU(d []float32, b float32) int

// simdBiasSigmoid sets d[i] = 1/(1+exp(-v)) with v = d[i]+b, over the
// same range as simdBiasSiLU.
//
//go:noescape
func simdBiasSigmoid(d []float32, b float32) int

// simdDepthwiseRow sets d[i] = b + sum_t w[t]*src[offs[t]+i], adding the
// taps in order t = 0, 1, ... with FMA. The caller guarantees len(w) ==
// len(offs) > 0 and 0 <= offs[t], offs[t]+len(d) <= len(src).
//
//go:noescape
func simdDepthwiseRow(d, src []float32, offs []int, w []float32, b float32)

// simdSum64 returns the sum of x accumulated in float64, in 16 interleaved
// partial sums.
//
//go:noescape
func simdSum64(x []float32) float64

// simd512 selects the AVX-512 forms of the SiLU and Sigmoid kernels
// (with simdEnabled): twice the lanes per instruction measured 1.5x
// faster than AVX2 back to back (BenchmarkBiasAct, 56 vs 85 µs). The
// other kernels are bound by memory bandwidth and stay AVX2.
var simd512 = simdEnabled && cpu.X86.HasAVX512F

// simdBiasSiLU16 is simdBiasSiLU over 16-lane vectors with AVX-512F,
// stopping at the symmetric range (-87, 87) instead: v in [87, 87.33)
// gets the same result, v, from the Go code.
//
//go:noescape
func simdBiasSiLU16(d []float32, b float32) int

// simdBiasSigmoid16 is simdBiasSigmoid over 16-lane vectors with
// AVX-512F, over the range of simdBiasSiLU16.
//
//go:noescape
func simdBiasSigmoid16(d []float32, b float32) int

// simdSplit2 sets first[j] = in[2j] and second[j] = in[2j+1] for j below
// pairs rounded down to a multiple of 8, skipping a nil first or second,
// and returns that count. The caller guarantees the slices behind the
// pointers are that long.
//
//go:noescape
func simdSplit2(first, second, in *float32, pairs int) int

// winograd512 selects the AVX-512 Winograd transforms of
// simd_winograd_amd64.s over the pure-Go loops.
var winograd512 = cpu.X86.HasAVX512F

// winogradInput16 writes, for chans channels, the transformed input of
// groups*16 tiles of one tile row into the 16 planes v + ch*vrow +
// k*stride, reading the tiles' four input rows as rows describes, each
// group's under the five lane masks at masks (four row vectors, the
// stores); see winogradInput.
//
//go:noescape
func winogradInput16(v *float32, stride, vrow int, rows *winogradRows, masks *uint16, groups, chans int)

// winogradOutput16 writes, for chans channels, the 2x2 output tiles
// A^T M A + bias[ch], plus the residual rows r0 and r1 when r0 is not nil,
// ReLU when relu != 0, of groups*16 tiles, then of a last group when
// ld != 0, from the 16 planes m + k*stride into the rows y0 and y1 (y1
// nil: one row); the last group reads under ld and writes its 32 floats
// per row under lo and hi. Each next channel's rows lie ystep bytes on,
// its planes mstep bytes; see winogradOutputTiles.
//
//go:noescape
func winogradOutput16(y0, y1, m *float32, stride, groups int, bias *float32, relu, ld, lo, hi int, r0, r1 *float32, chans, ystep, mstep int)

// winograd4Input16 writes, for chans channels, the F(4x4, 3x3)
// transformed input of groups*16 tiles of one tile row into the 36 planes
// v + ch*vrow + k*stride, reading the tiles' six input rows as rows
// describes, each group's under the six lane masks at masks (five row
// vectors, the stores); see winograd4Input.
//
//go:noescape
func winograd4Input16(v *float32, stride, vrow int, rows *winograd4Rows, masks *uint16, groups, chans int)

// winograd4Output16 writes, for chans channels, the 4x4 output tiles
// A^T M A + bias[ch], plus the residual when res is not nil, ReLU when
// relu != 0, of groups*16 tiles, then of a last group when ld != 0, from
// the 36 planes m + k*stride into four rows rowstep bytes apart from y;
// the last group reads under ld and writes under the four masks of st.
// Each next channel's rows lie ystep bytes on, its planes mstep bytes;
// tmp holds 24*16 floats of scratch. See winograd4OutputTiles.
//
//go:noescape
func winograd4Output16(y, m *float32, stride, groups int, bias *float32, relu, ld, st int, res *float32, chans, ystep, mstep, rowstep int, tmp *float32)
