//go:build linux

package padim

import (
	"os"
	"syscall"
	"unsafe"
)

// releaseTail hands the pages of s after its first keep bytes back to the
// kernel (MADV_DONTNEED): Finalize has written the inverses into the front
// of the accumulator's sums and never reads the rest again, but the slice
// of inverses keeps the whole allocation alive. The pages read as zeros if
// touched again, which the Go runtime also assumes of memory it gets back
// (it scavenges its own free pages the same way), and s holds no pointers.
// Failure only means the memory stays resident, so it is ignored.
func releaseTail(s []float64, keep int) {
	// Only whole pages inside s: the kernel would round a partial last
	// page up, and for small slices the rest of that page belongs to other
	// Go objects.
	page := uintptr(os.Getpagesize())
	base := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	from := (base + uintptr(keep) + page - 1) / page * page
	to := (base + uintptr(len(s))*8) / page * page
	if from >= to {
		return
	}
	all := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*8)
	_ = syscall.Madvise(all[from-base:to-base], syscall.MADV_DONTNEED)
}
