//go:build unix

package atomicfile

import "syscall"

// writableDir reports why new entries cannot be made in the existing
// directory dir (a read-only filesystem, missing permission), without
// creating anything: access(2) answers EROFS even for root.
func writableDir(dir string) error {
	const wOK, xOK = 2, 1 // W_OK, X_OK of <unistd.h>
	return syscall.Access(dir, wOK|xOK)
}
