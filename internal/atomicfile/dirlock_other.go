//go:build !unix

package atomicfile

// lockDir is a no-op where flock(2) is not available: concurrent WriteSets
// into one directory are then not serialised.
func lockDir(dir string) (func(), error) { return func() {}, nil }
