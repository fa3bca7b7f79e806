package filekind

import (
	"fmt"
	"io/fs"
	"os"
)

// Describe names a file mode's kind for error messages, with its article:
// "a directory", "a named pipe (FIFO)", "a character device", ...
func Describe(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "not a regular file"
}

// Regular stats path, following symbolic links, and returns its FileInfo when
// it is a regular file. Otherwise the error names path and what it is, e.g.
// "x.png: is a named pipe (FIFO), not a regular file" or "x.png: is a
// symbolic link to a directory, not a regular file". A missing file gives
// the *fs.PathError of os.Stat.
func Regular(path string) (fs.FileInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Mode().IsRegular() {
		return st, nil
	}
	what := Describe(st.Mode())
	if lst, lerr := os.Lstat(path); lerr == nil && lst.Mode()&fs.ModeSymlink != 0 {
		what = "a symbolic link to " + what
	}
	return nil, fmt.Errorf("%s: is %s, not a regular file", path, what)
}

// Open opens path for reading after checking, without opening it, that it is
// a regular file (see Regular). A path swapped for a FIFO between the check
// and the open could still block; the check is there for user mistakes, not
// for races.
func Open(path string) (*os.File, fs.FileInfo, error) {
	st, err := Regular(path)
	if err != nil {
		return nil, nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	return f, st, nil
}

// ReadFile is os.ReadFile for regular files only (see Regular).
func ReadFile(path string) ([]byte, error) {
	if _, err := Regular(path); err != nil {
		return nil, err
	}
	return os.ReadFile(path)
}
