//go:build unix

package atomicfile

import (
	"fmt"
	"io"
	"os"
	"syscall"
)

// openDescriptor returns a writer on a duplicate of descriptor fd and the
// function that closes the duplicate. Writing through a duplicate, not an
// *os.File made on fd itself, matters: that *os.File would close fd (stdout,
// say) when garbage-collected. The duplicate shares the file offset, so the
// bytes land where the shell's redirection expects them.
func openDescriptor(fd int, path string) (io.Writer, func() error, error) {
	dup, err := syscall.Dup(fd)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: descriptor %d: %w", path, fd, err)
	}
	f := os.NewFile(uintptr(dup), path)
	return f, f.Close, nil
}
