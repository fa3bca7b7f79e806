package padim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// The ResNet-18 setting of the paper: 56x56 positions, d = 100.
const benchPositions, benchDim = 56 * 56, 100

func benchData(n int) []float64 {
	rng := rand.New(rand.NewPCG(1, 1))
	x := make([]float64, benchPositions*n*benchDim)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	return x
}

// One Add of 32 images: per position the panel products and the packed fold.
func BenchmarkAccumulatorAdd32(b *testing.B) {
	acc, _ := NewGaussianAccumulator(benchPositions, benchDim, 0)
	x := benchData(32)
	scratch := make([]float64, len(x))
	for b.Loop() {
		copy(scratch, x)
		acc.Add(scratch, 32)
	}
}

// benchFinalize times Finalize on the sums of acc. Finalize consumes the
// accumulator (its results overwrite the sums), so every iteration gets
// the sums back, outside the timer.
func benchFinalize(b *testing.B, acc *GaussianAccumulator) {
	saved := slices.Clone(acc.sxx)
	buf := make([]float64, len(saved))
	for b.Loop() {
		b.StopTimer()
		copy(buf, saved)
		acc.sxx = buf
		b.StartTimer()
		if _, _, err := acc.Finalize(0.01); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFinalize(b *testing.B) {
	acc, _ := NewGaussianAccumulator(benchPositions, benchDim, 0)
	acc.Add(benchData(32), 32)
	benchFinalize(b, acc)
}

// Scoring 8 test images against every position.
func BenchmarkMahalanobis8(b *testing.B) {
	acc, _ := NewGaussianAccumulator(benchPositions, benchDim, 0)
	acc.Add(benchData(32), 32)
	mean, chol, _ := acc.Finalize(0.01)
	x64 := benchData(8)
	x := make([]float32, len(x64))
	for i, v := range x64 {
		x[i] = float32(v)
	}
	for b.Loop() {
		if _, err := Mahalanobis(context.Background(), mean, chol, benchPositions, benchDim, x, 8, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// The Wide-ResNet-50-2 setting (d = 550) on 256 of its 3136 positions:
// per position the work is the same, the total scales linearly.
const wideBenchPositions, wideBenchDim = 256, 550

func wideBenchData(n int) []float64 {
	rng := rand.New(rand.NewPCG(2, 2))
	x := make([]float64, wideBenchPositions*n*wideBenchDim)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	return x
}

func BenchmarkAccumulatorAdd32Wide(b *testing.B) {
	acc, _ := NewGaussianAccumulator(wideBenchPositions, wideBenchDim, 0)
	x := wideBenchData(32)
	scratch := make([]float64, len(x))
	for b.Loop() {
		copy(scratch, x)
		acc.Add(scratch, 32)
	}
}

func BenchmarkFinalizeWide(b *testing.B) {
	acc, _ := NewGaussianAccumulator(wideBenchPositions/8, wideBenchDim, 0)
	acc.Add(wideBenchData(32)[:wideBenchPositions/8*32*wideBenchDim], 32)
	benchFinalize(b, acc)
}

// Scoring the Wide-ResNet-50-2 setting k test images per call: each
// position's covariance factor is read from memory once per call, so the
// time per image (ns/image) falls with k. This is the measurement behind
// Model.Score's advice and experiments.ScoreGroup.
func BenchmarkMahalanobisWide(b *testing.B) {
	acc, _ := NewGaussianAccumulator(wideBenchPositions, wideBenchDim, 0)
	acc.Add(wideBenchData(32), 32)
	mean, chol, _ := acc.Finalize(0.01)
	for _, k := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("k=%d", k), func(b *testing.B) {
			x64 := wideBenchData(k)
			x := make([]float32, len(x64))
			for i, v := range x64 {
				x[i] = float32(v)
			}
			for b.Loop() {
				if _, err := Mahalanobis(context.Background(), mean, chol, wideBenchPositions, wideBenchDim, x, k, 0); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*k), "ns/image")
		})
	}
}

// As Fit calls it (AccumulateImages 64), after a first Add that faults the
// sums' pages in: per Add each position's sums are read and written once,
// against 64 x d^2 multiply-adds.
func BenchmarkAccumulatorAdd64Wide(b *testing.B) {
	acc, _ := NewGaussianAccumulator(wideBenchPositions, wideBenchDim, 0)
	x := wideBenchData(64)
	acc.Add(x, 64)
	for b.Loop() {
		acc.Add(x, 64)
	}
	flops := 2 * float64(wideBenchPositions) * 64 * float64(gramLen(wideBenchDim))
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
