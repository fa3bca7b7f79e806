//go:build !linux

package padim

func mapFile(path string) ([]byte, bool, error) { return readWhole(path) }

func unmapFile(data []byte) error { return nil }
