//go:build !unix

package atomicfile

// writableDir cannot be answered without writing here; the write itself
// reports the problem.
func writableDir(dir string) error { return nil }
