package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

func TestWriteReplacesWholeFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "out.txt")
	if err := WriteBytes(p, []byte("first")); err != nil {
		t.Fatal(err)
	}
	if err := WriteBytes(p, []byte("second")); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil || string(got) != "second" {
		t.Fatalf("read %q, %v; want \"second\"", got, err)
	}
}

func TestFailedWriteLeavesOldFileAndNoTemp(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.txt")
	if err := WriteBytes(p, []byte("old")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(p, func(w io.Writer) error {
		w.Write([]byte("partial"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	got, _ := os.ReadFile(p)
	if string(got) != "old" {
		t.Fatalf("target = %q after failed write, want \"old\"", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("%d entries left in dir, want only the target", len(entries))
	}
}

func TestWriteRefusesNonRegularTargets(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip(err)
	}
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o755)
	link := filepath.Join(dir, "linkdir")
	os.Symlink(sub, link)
	dangling := filepath.Join(dir, "dangling")
	os.Symlink(filepath.Join(dir, "nothing"), dangling)
	for path, want := range map[string]string{
		fifo:     "is a named pipe (FIFO)",
		sub:      "is a directory",
		link:     "is a directory",
		dangling: "symbolic link to a missing",
	} {
		err := WriteBytes(path, []byte("x"))
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), want) {
			t.Errorf("Write(%s) = %v, want an error naming it with %q", path, err, want)
		}
		if cerr := CheckTarget(path); cerr == nil {
			t.Errorf("CheckTarget(%s) accepted it", path)
		}
	}
	if st, _ := os.Lstat(fifo); st.Mode().Type() != fs.ModeNamedPipe {
		t.Errorf("the FIFO became %v", st.Mode())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 4 {
		t.Errorf("%d entries, want the 4 made by the test", len(entries))
	}
}

func TestWriteThroughLinkAndDevice(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.txt")
	os.WriteFile(real, []byte("old"), 0o644)
	link := filepath.Join(dir, "link.txt")
	os.Symlink(real, link)
	if err := WriteBytes(link, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Lstat(link); st.Mode().Type() != fs.ModeSymlink {
		t.Errorf("the link was replaced by %v", st.Mode())
	}
	if b, _ := os.ReadFile(real); string(b) != "new" {
		t.Errorf("the link's target holds %q", b)
	}
	// /dev/null is a character device: written as a stream, never renamed over.
	if err := WriteBytes("/dev/null", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat("/dev/null"); err != nil || st.Mode()&fs.ModeCharDevice == 0 {
		t.Fatalf("/dev/null is now %v (%v)", st.Mode(), err)
	}
	if err := CheckTarget("-"); err != nil {
		t.Error(err)
	}
}

func TestCheckTargetRefusesInputs(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "weights.pth")
	os.WriteFile(in, []byte("w"), 0o644)
	link := filepath.Join(dir, "alias.pth")
	os.Symlink(in, link)
	hard := filepath.Join(dir, "hard.pth")
	os.Link(in, hard)
	for _, out := range []string{in, link, hard, filepath.Join(dir, ".", "weights.pth")} {
		err := CheckTarget(out, "other", in)
		if err == nil || !strings.Contains(err.Error(), "is the input "+in) {
			t.Errorf("CheckTarget(%s) = %v", out, err)
		}
	}
	if err := CheckTarget(filepath.Join(dir, "newdir")+"/", in); err == nil || !strings.Contains(err.Error(), "names a folder") {
		t.Errorf("a path ending in a separator: %v", err)
	}
	if err := CheckTarget(filepath.Join(dir, "new.padim"), in); err != nil {
		t.Error(err)
	}
	if err := CheckTarget(filepath.Join(in, "x"), in); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("a path under a file: %v", err)
	}
	if err := CheckDir(in); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("CheckDir(file) = %v", err)
	}
}

func TestWriteSetAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	boom := errors.New("boom")
	err := WriteSet(out, "index", func(staging string) error {
		os.WriteFile(filepath.Join(staging, "a"), []byte("a"), 0o644)
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a failed set left %v", entries)
	}
	fill := func(staging string) error {
		for _, n := range []string{"a", "b", "index"} {
			if err := os.WriteFile(filepath.Join(staging, n), []byte(n), 0o644); err != nil {
				return err
			}
		}
		return nil
	}
	if err := WriteSet(out, "index", fill); err != nil {
		t.Fatal(err)
	}
	// Into an existing folder: its other files stay, the set is added.
	os.WriteFile(filepath.Join(out, "mine"), []byte("m"), 0o644)
	if err := WriteSet(out, "index", fill); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 4 {
		t.Errorf("%d entries in out, want a, b, index, mine", len(entries))
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("staging left behind: %v", entries)
	}
}

func TestIsStdout(t *testing.T) {
	for p, want := range map[string]bool{"-": true, "/dev/stdout": true, "/dev/fd/1": true, "/proc/self/fd/1": true,
		"/dev/stderr": false, "/dev/fd/2": false, "out.json": false, "/dev/null": false} {
		if got := IsStdout(p); got != want {
			t.Errorf("IsStdout(%q) = %v", p, got)
		}
	}
}

// TestWriteToDescriptorKeepsIt: writing to "-" or /dev/fd/N goes through
// the descriptor and leaves it open (a garbage-collected *os.File on the
// descriptor itself would close it).
func TestWriteToDescriptorKeepsIt(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	path := fmt.Sprintf("/dev/fd/%d", w.Fd())
	if err := WriteBytes(path, []byte("first ")); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.GC()
	if _, err := w.Write([]byte("second")); err != nil {
		t.Fatalf("the descriptor was closed by the write: %v", err)
	}
	w.Close()
	b, _ := io.ReadAll(r)
	if string(b) != "first second" {
		t.Errorf("read %q", b)
	}
}

// TestRemovePending: while a Write and a WriteSet are in progress,
// RemovePending deletes their temporary file and staging folder (what a
// process quitting at once must not leave behind); their targets keep the
// old contents, and the interrupted writes fail instead of publishing.
func TestRemovePending(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "model")
	set := filepath.Join(dir, "set")
	if err := WriteBytes(file, []byte("old")); err != nil {
		t.Fatal(err)
	}
	if err := WriteSet(set, "b", func(staging string) error {
		return os.WriteFile(filepath.Join(staging, "b"), []byte("old"), 0o644)
	}); err != nil {
		t.Fatal(err)
	}
	if got := RemovePending(); len(got) != 0 {
		t.Fatalf("finished writes left pending paths: %v", got)
	}
	started := make(chan struct{}, 2)
	release := make(chan struct{})
	errs := make(chan error, 2)
	go func() {
		errs <- Write(file, func(w io.Writer) error {
			w.Write([]byte("partial"))
			started <- struct{}{}
			<-release
			_, err := w.Write([]byte(" new"))
			return err
		})
	}()
	go func() {
		errs <- WriteSet(set, "b", func(staging string) error {
			os.WriteFile(filepath.Join(staging, "a"), []byte("new"), 0o644)
			started <- struct{}{}
			<-release
			return os.WriteFile(filepath.Join(staging, "b"), []byte("new"), 0o644)
		})
	}()
	<-started
	<-started
	removed := RemovePending()
	if len(removed) != 2 {
		t.Fatalf("RemovePending removed %v, want the temporary file and the staging folder", removed)
	}
	for _, p := range removed {
		if !strings.HasPrefix(filepath.Base(p), ".model.tmp-") && !strings.HasPrefix(filepath.Base(p), ".set.tmp-") {
			t.Errorf("removed %s, which is not a temporary name", p)
		}
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s still exists", p)
		}
	}
	close(release)
	for range 2 {
		if err := <-errs; err == nil {
			t.Error("an interrupted write reported success")
		}
	}
	if b, _ := os.ReadFile(file); string(b) != "old" {
		t.Errorf("target holds %q, want the old contents", b)
	}
	if b, _ := os.ReadFile(filepath.Join(set, "b")); string(b) != "old" {
		t.Errorf("set file b holds %q, want the old contents", b)
	}
	if _, err := os.Stat(filepath.Join(set, "a")); err == nil {
		t.Error("the interrupted set published a")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("entries left in dir: %v, want model and set", entries)
	}
}

// TestWriteSetConcurrentWriters: sets written into one folder at the same
// time (two predict calls with the same --out) never mix: after every
// round, the files the last-named file lists are the ones its own call
// wrote. The folder is missing at the start of each round, so the writers
// also race to create it.
func TestWriteSetConcurrentWriters(t *testing.T) {
	const writers, rounds = 6, 15
	for round := range rounds {
		out := filepath.Join(t.TempDir(), "out")
		errs := make(chan error, writers)
		for w := range writers {
			go func() {
				id := fmt.Sprintf("writer %d", w)
				errs <- WriteSet(out, "index", func(staging string) error {
					for _, n := range []string{"a", "b", "c", "index"} {
						if err := os.WriteFile(filepath.Join(staging, n), []byte(id), 0o644); err != nil {
							return err
						}
					}
					return nil
				})
			}()
		}
		for range writers {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		index, err := os.ReadFile(filepath.Join(out, "index"))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{"a", "b", "c"} {
			if b, _ := os.ReadFile(filepath.Join(out, n)); string(b) != string(index) {
				t.Fatalf("round %d: index is by %s but %s by %s: the sets mixed", round, index, n, b)
			}
		}
		if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 1 {
			t.Fatalf("round %d: staging left behind: %v", round, entries)
		}
	}
}

// readOnlyDir returns a directory that takes no new entries and holds the
// regular file "existing" and a writable folder "sub": a read-only tmpfs
// mount as root (permissions do not bind root) with a writable one on sub,
// a mode 0555 directory otherwise.
func readOnlyDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if os.Geteuid() != 0 {
		if err := os.WriteFile(filepath.Join(dir, "existing"), []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
		return dir
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64k"); err != nil {
		t.Skipf("cannot mount a tmpfs for a read-only folder: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, 0) })
	if err := os.WriteFile(filepath.Join(dir, "existing"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT|syscall.MS_RDONLY, "size=64k"); err != nil {
		t.Skipf("cannot remount the tmpfs read-only: %v", err)
	}
	if err := syscall.Mount("tmpfs", filepath.Join(dir, "sub"), "tmpfs", 0, "size=64k"); err != nil {
		t.Skipf("cannot mount a writable tmpfs on sub: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(filepath.Join(dir, "sub"), 0) })
	return dir
}

// TestCheckRefusesReadOnlyFolder: an output in a folder that takes no new
// files (the temporary file, or a set's staging folder, goes there) is
// refused by the checks commands run before their work; it used to fail
// only at the final write, after the fit or the scoring.
func TestCheckRefusesReadOnlyFolder(t *testing.T) {
	dir := readOnlyDir(t)
	for _, p := range []string{filepath.Join(dir, "new.padim"), filepath.Join(dir, "existing"), filepath.Join(dir, "missing", "new.json")} {
		if err := CheckTarget(p); err == nil || !strings.Contains(err.Error(), "folder "+dir+" does not take new files") {
			t.Errorf("CheckTarget(%s) = %v", p, err)
		}
	}
	for _, p := range []string{dir, filepath.Join(dir, "out")} {
		if err := CheckDir(p); err == nil || !strings.Contains(err.Error(), p+": cannot be written: folder "+dir) {
			t.Errorf("CheckDir(%s) = %v", p, err)
		}
	}
	if err := CheckDir(filepath.Join(t.TempDir(), "new", "out")); err != nil {
		t.Errorf("CheckDir of a new folder in a writable one: %v", err)
	}
	// A writable folder in it takes files (reproduce --out, --cache), but
	// not a set, whose staging folder goes beside it (predict, features).
	sub := filepath.Join(dir, "sub")
	if err := CheckDir(sub); err != nil {
		t.Errorf("CheckDir(%s) = %v", sub, err)
	}
	if err := CheckTarget(filepath.Join(sub, "f")); err != nil {
		t.Errorf("CheckTarget in %s = %v", sub, err)
	}
	if err := CheckSetDir(sub); err == nil || !strings.Contains(err.Error(), "folder "+dir+" does not take new files") {
		t.Errorf("CheckSetDir(%s) = %v", sub, err)
	}
	if err := WriteSet(sub, "a", func(string) error { return nil }); err == nil {
		t.Error("WriteSet into a folder whose parent takes no new files succeeded")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "existing")); string(b) != "old" {
		t.Error("a check changed the file")
	}
}
