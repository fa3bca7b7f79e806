//go:build !unix

package atomicfile

import (
	"fmt"
	"io"
	"os"
)

// openDescriptor returns standard output or standard error, which stay open
// after the write; other descriptors are not supported here.
func openDescriptor(fd int, path string) (io.Writer, func() error, error) {
	switch fd {
	case 1:
		return os.Stdout, func() error { return nil }, nil
	case 2:
		return os.Stderr, func() error { return nil }, nil
	}
	return nil, nil, fmt.Errorf("%s: writing to descriptor %d is not supported on this system", path, fd)
}
