//go:build unix

package atomicfile

import (
	"fmt"
	"os"
	"syscall"
)

// lockDir takes an exclusive flock(2) on the directory itself (no lock file
// is added to it), blocking while another process holds it, and returns the
// unlock function.
func lockDir(dir string) (func(), error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(d.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return func() { d.Close() }, nil // closing the descriptor releases the lock
}
