package filekind

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRegular: only regular files (through links) pass; everything else is
// named, and a FIFO is never opened (the call returns although no writer
// ever comes).
func TestRegular(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f.png")
	os.WriteFile(file, []byte("x"), 0o644)
	link := filepath.Join(dir, "link.png")
	os.Symlink(file, link)
	fifo := filepath.Join(dir, "fifo.png")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip(err)
	}
	dirLink := filepath.Join(dir, "d.png")
	os.Symlink(dir, dirLink)
	for _, p := range []string{file, link} {
		if _, err := Regular(p); err != nil {
			t.Errorf("Regular(%s) = %v", p, err)
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for p, want := range map[string]string{
			fifo:        "is a named pipe (FIFO), not a regular file",
			dir:         "is a directory, not a regular file",
			dirLink:     "is a symbolic link to a directory, not a regular file",
			"/dev/zero": "is a character device, not a regular file",
		} {
			_, err := ReadFile(p)
			if err == nil || !strings.HasPrefix(err.Error(), p+": ") || !strings.Contains(err.Error(), want) {
				t.Errorf("ReadFile(%s) = %v, want %q", p, err, want)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("blocked on a non-regular file")
	}
	if _, err := Regular(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
}
