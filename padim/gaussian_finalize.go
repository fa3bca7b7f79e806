package padim

import (
	"sync"
	"unsafe"
)

// Finalize turns the float64 sums S of every position into float32 packed
// Cholesky factors. For Wide-ResNet-50-2 (d = 550, 3136 positions) S takes
// 4.0 GB and the factors 1.9 GB; holding both would add the second to the
// fit's peak. So the factors are written into the memory that held S, and
// the rest of it is handed back to the operating system where it can be
// (releaseTail). This file keeps that memory plan apart from the
// arithmetic in gaussian.go.
//
// The write ordering: position p's packed factor goes to bytes
// [p*P*4, (p+1)*P*4) of the buffer (P = packedLen(d)), which lie in the
// bytes of S_q for q <= p/2 or so (S_q takes gramLen(d)*8 bytes). A factor
// may be written only once every S_q under it has been read; positions run
// on several goroutines, so each write waits for those reads (readMark).

// factorsOverSums hands out, position by position, the sums S to read and
// the place to write the factor over them.
type factorsOverSums struct {
	sxx          []float64 // positions x gramLen(d)
	chol         []float32 // positions x packedLen(d), in sxx's memory
	gram, packed int
	read         *readMark
}

// takeSums moves the sums out of the accumulator, which can then no longer
// Add or Finalize.
func (a *GaussianAccumulator) takeSums() *factorsOverSums {
	f := &factorsOverSums{
		sxx:    a.sxx,
		chol:   unsafe.Slice((*float32)(unsafe.Pointer(&a.sxx[0])), a.positions*packedLen(a.dim)),
		gram:   gramLen(a.dim),
		packed: packedLen(a.dim),
		read:   newReadMark(a.positions),
	}
	a.sxx = nil
	return f
}

// sums is position p's S in the panel layout. It must not be read after
// doneReading(p).
func (f *factorsOverSums) sums(p int) []float64 { return f.sxx[p*f.gram : (p+1)*f.gram] }

// doneReading records that position p's sums have been read.
func (f *factorsOverSums) doneReading(p int) { f.read.set(p) }

// factor returns where position p's packed factor goes, once every
// position whose sums share bytes with it has been read.
func (f *factorsOverSums) factor(p int) []float32 {
	f.read.waitThrough(lastOverlapped(p, f.packed, f.gram))
	return f.chol[p*f.packed : (p+1)*f.packed]
}

// factors returns all the factors, capped so that appending cannot run
// into the released rest, and returns that rest to the operating system.
func (f *factorsOverSums) factors() []float32 {
	releaseTail(f.sxx, len(f.chol)*4)
	return f.chol[:len(f.chol):len(f.chol)]
}

// lastOverlapped is the last position q whose float64 sums (gram float64
// each) share bytes with position p's float32 result (packed float32
// each) when both arrays start at the same address.
func lastOverlapped(p, packed, gram int) int {
	end := (p + 1) * packed * 4 // bytes
	return (end - 1) / (gram * 8)
}

// readMark records which positions' sums have been read, so that results
// written over them wait for the positions they overwrite. Positions are
// handed out in increasing order and read before any wait, so every wait
// ends.
type readMark struct {
	mu    sync.Mutex
	cond  sync.Cond
	done  []bool
	front int // positions 0..front-1 have all been read
}

func newReadMark(positions int) *readMark {
	r := &readMark{done: make([]bool, positions)}
	r.cond.L = &r.mu
	return r
}

func (r *readMark) set(p int) {
	r.mu.Lock()
	r.done[p] = true
	for r.front < len(r.done) && r.done[r.front] {
		r.front++
	}
	r.mu.Unlock()
	r.cond.Broadcast()
}

func (r *readMark) waitThrough(q int) {
	r.mu.Lock()
	for r.front <= q {
		r.cond.Wait()
	}
	r.mu.Unlock()
}
