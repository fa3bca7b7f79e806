package eval

import (
	"math"
	"runtime"
	"sync"
)

// floatKey maps a non-NaN float32 to a uint32 whose unsigned order is the
// numeric order of the floats. -0 and +0 map to the same key, because they
// compare equal and so must tie.
func floatKey(f float32) uint32 {
	if f == 0 {
		f = 0 // canonical +0
	}
	b := math.Float32bits(f)
	if b&0x80000000 != 0 {
		return ^b
	}
	return b | 0x80000000
}

// keyFloat inverts floatKey.
func keyFloat(k uint32) float32 {
	if k&0x80000000 != 0 {
		return math.Float32frombits(k &^ 0x80000000)
	}
	return math.Float32frombits(^k)
}

const (
	radixBits     = 11
	radixBuckets  = 1 << radixBits
	radixMinChunk = 1 << 16 // below this per worker, goroutines cost more than they save
)

type unsigned interface{ ~uint32 | ~uint64 }

// radixSort sorts a by bits [lo, hi) of its elements, stably, using buf
// (len(buf) >= len(a)) as scratch. It returns whichever of a and buf holds
// the result. Passes run goroutine-parallel over contiguous chunks, and a
// pass is skipped when every element has the same digit (common for the
// high bits of floats in a narrow range).
func radixSort[T unsigned](a, buf []T, lo, hi uint) []T {
	n := len(a)
	buf = buf[:n]
	workers := min(runtime.GOMAXPROCS(0), n/radixMinChunk+1)
	hist := make([][radixBuckets]int, workers)
	chunk := func(w int) (int, int) { return w * n / workers, (w + 1) * n / workers }
	var wg sync.WaitGroup
	for shift := lo; shift < hi; shift += radixBits {
		width := min(radixBits, hi-shift)
		mask := T(1)<<width - 1
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				h := &hist[w]
				*h = [radixBuckets]int{}
				s, e := chunk(w)
				for _, v := range a[s:e] {
					h[(v>>shift)&mask]++
				}
			}(w)
		}
		wg.Wait()
		if oneBucket(hist, n) {
			continue
		}
		// Turn counts into start offsets: bucket-major, then worker order,
		// which keeps the scatter stable.
		total := 0
		for b := 0; b < radixBuckets; b++ {
			for w := 0; w < workers; w++ {
				c := hist[w][b]
				hist[w][b] = total
				total += c
			}
		}
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				h := &hist[w]
				s, e := chunk(w)
				for _, v := range a[s:e] {
					d := (v >> shift) & mask
					buf[h[d]] = v
					h[d]++
				}
			}(w)
		}
		wg.Wait()
		a, buf = buf, a
	}
	return a
}

// oneBucket reports whether the per-worker counts put all n elements into a
// single bucket, in which case a pass would not move anything.
func oneBucket(counts [][radixBuckets]int, n int) bool {
	for b := 0; b < radixBuckets; b++ {
		c := 0
		for w := range counts {
			c += counts[w][b]
		}
		if c != 0 {
			return c == n
		}
	}
	return true
}
