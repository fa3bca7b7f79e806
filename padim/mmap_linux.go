//go:build linux

package padim

import (
	"fmt"
	"syscall"

	"github.com/padim-go/padim/internal/filekind"
)

// mapFile maps path read-only. The page cache backs the mapping, so a
// multi-gigabyte model costs no anonymous memory and pages in on use.
func mapFile(path string) ([]byte, bool, error) {
	f, _, err := filekind.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, false, err
	}
	size := st.Size()
	if size == 0 {
		return []byte{}, false, nil
	}
	if size != int64(int(size)) {
		return nil, false, fmt.Errorf("%s: %d bytes is too large to map", path, size)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return readWhole(path)
	}
	return data, true, nil
}

func unmapFile(data []byte) error { return syscall.Munmap(data) }
