// Package atomicfile writes files so that a reader, or a run interrupted at
// any instant, sees either the previous complete file or the new complete
// file, never a partial one: data goes to a temporary file in the same
// directory, is fsynced, and is renamed over the target.
//
// It also decides what an output path may be, in one place for every
// command (see Write and CheckTarget): a temporary-file-and-rename must
// never replace a directory, a device node, a FIFO or the symbolic link
// itself, and an output must never be one of the run's own inputs.
package atomicfile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/padim-go/padim/internal/filekind"
)

// targetKind is how Write treats an output path.
type targetKind int

const (
	atomicTarget targetKind = iota // missing or a regular file: temp file + rename
	streamFD                       // "-" or one of the process's own descriptors
	streamDevice                   // an existing character device: open and write
)

// target is a classified output path.
type target struct {
	kind targetKind
	path string // atomicTarget: the path to rename onto (symbolic links resolved); streamDevice: the device
	fd   int    // streamFD: the descriptor
}

// ownDescriptor reports the descriptor number of "-" (1) and of the paths
// that name the process's own open descriptors: /dev/stdout, /dev/stderr,
// /dev/fd/N and /proc/self/fd/N. These are written as streams through the
// open descriptor: reopening or renaming over them would write past what
// the shell set up (or replace the /dev/stdout link itself).
func ownDescriptor(path string) (int, bool) {
	if path == "-" {
		return 1, true
	}
	switch p := filepath.Clean(path); p {
	case "/dev/stdout":
		return 1, true
	case "/dev/stderr":
		return 2, true
	default:
		for _, dir := range []string{"/dev/fd/", "/proc/self/fd/"} {
			if rest, ok := strings.CutPrefix(p, dir); ok {
				if n, err := strconv.Atoi(rest); err == nil && n >= 0 {
					return n, true
				}
			}
		}
	}
	return 0, false
}

// IsStdout reports whether Write sends path to standard output ("-",
// /dev/stdout, /dev/fd/1, /proc/self/fd/1), so a command can move its own
// messages to standard error.
func IsStdout(path string) bool {
	fd, ok := ownDescriptor(path)
	return ok && fd == 1
}

// classify decides how path is written, or why it cannot be.
func classify(path string) (target, error) {
	if fd, ok := ownDescriptor(path); ok {
		return target{kind: streamFD, fd: fd, path: path}, nil
	}
	if path == "" || os.IsPathSeparator(path[len(path)-1]) {
		return target{}, fmt.Errorf("%q: names a folder; give a file name for this output", path)
	}
	lst, err := os.Lstat(path)
	if os.IsNotExist(err) {
		return target{kind: atomicTarget, path: path}, checkParent(path)
	}
	if err != nil {
		if perr := checkParent(path); perr != nil {
			return target{}, perr // e.g. "not a directory": a file where a folder belongs
		}
		return target{}, err
	}
	st, err := os.Stat(path)
	if err != nil {
		if lst.Mode()&fs.ModeSymlink != 0 {
			return target{}, fmt.Errorf("%s: is a symbolic link to a missing or unreachable file (%v); give the target path itself", path, err)
		}
		return target{}, err
	}
	m := st.Mode()
	switch {
	case m.IsRegular():
		real := path
		if lst.Mode()&fs.ModeSymlink != 0 {
			// Replace the file the link points to and keep the link.
			if real, err = filepath.EvalSymlinks(path); err != nil {
				return target{}, err
			}
		}
		return target{kind: atomicTarget, path: real}, nil
	case m&fs.ModeCharDevice != 0:
		return target{kind: streamDevice, path: path}, nil
	case m.IsDir():
		return target{}, fmt.Errorf("%s: is a directory; give a file name for this output", path)
	}
	what := filekind.Describe(m)
	if lst.Mode()&fs.ModeSymlink != 0 {
		what = "a symbolic link to " + what
	}
	return target{}, fmt.Errorf("%s: is %s; an output must be a regular file, a character device (such as /dev/null) or - for standard output", path, what)
}

// checkParent checks that the nearest existing ancestor of a path that does
// not exist yet is a directory, so that a file given where a folder belongs
// fails before the work rather than at the final write.
func checkParent(path string) error {
	return checkAncestors(path, filepath.Dir(path))
}

// checkAncestors is checkParent from dir upwards; errors name path.
func checkAncestors(path, dir string) error {
	for ; ; dir = filepath.Dir(dir) {
		st, err := os.Stat(dir)
		if err == nil {
			if !st.IsDir() {
				return fmt.Errorf("%s: cannot be created: %s is %s, not a directory", path, dir, filekind.Describe(st.Mode()))
			}
			return checkWritable(path, dir)
		}
		if next := filepath.Dir(dir); next == dir {
			return nil
		}
	}
}

// checkWritable refuses an output whose temporary files would go into a
// directory that cannot take new entries (a read-only filesystem), before
// the work rather than at the final write.
func checkWritable(path, dir string) error {
	if err := writableDir(dir); err != nil {
		return fmt.Errorf("%s: cannot be written: folder %s does not take new files (%v)", path, dir, err)
	}
	return nil
}

// CheckTarget checks, before any work, that path can be written by Write
// and is none of inputs (compared with os.SameFile after following symbolic
// links; inputs that do not exist are ignored). Commands call it for every
// output file with every file the run reads, so that `--out` naming the
// weights or the model is refused instead of destroying them.
func CheckTarget(path string, inputs ...string) error {
	t, err := classify(path)
	if err != nil {
		return err
	}
	if t.kind != atomicTarget {
		return nil
	}
	out, err := os.Stat(t.path)
	if err != nil {
		return nil // does not exist yet: cannot be an input (classify checked its folder)
	}
	for _, in := range inputs {
		if in == "" {
			continue
		}
		if st, err := os.Stat(in); err == nil && os.SameFile(out, st) {
			return fmt.Errorf("%s: is the input %s; refusing to overwrite an input, choose another output path", path, in)
		}
	}
	return checkWritable(path, filepath.Dir(t.path))
}

// CheckDir checks, before any work, that path can be used as an output
// directory: it does not exist yet (it will be created; its nearest
// existing ancestor must be a directory) or it is a directory (symbolic
// links followed).
func CheckDir(path string) error {
	st, err := os.Stat(path)
	if os.IsNotExist(err) {
		if lst, lerr := os.Lstat(path); lerr == nil && lst.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s: is a symbolic link to a missing directory", path)
		}
		return checkAncestors(path, path)
	}
	if err != nil {
		if perr := checkAncestors(path, filepath.Dir(path)); perr != nil {
			return perr // a file where a folder belongs
		}
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s: is %s, not a directory; this output is a folder", path, filekind.Describe(st.Mode()))
	}
	return checkWritable(path, path)
}

// CheckSetDir is CheckDir for a folder that WriteSet writes: its staging
// folder is made beside it, so the parent folder must take new entries too.
func CheckSetDir(path string) error {
	if err := CheckDir(path); err != nil {
		return err
	}
	clean := filepath.Clean(path)
	if parent := filepath.Dir(clean); parent != clean {
		if st, err := os.Stat(parent); err == nil && st.IsDir() {
			return checkWritable(path, parent)
		}
	}
	return nil
}

// Write creates path with the bytes produced by fill. A missing path or an
// existing regular file is written atomically (a symbolic link to a regular
// file is kept and the file it points to replaced); when fill returns an
// error, nothing is left behind and path is untouched. "-", /dev/stdout,
// /dev/stderr, /dev/fd/N and /proc/self/fd/N are written through the
// process's own descriptor, and an existing character device (/dev/null,
// a terminal) is opened and written; these streams are not atomic. Any other
// existing path (a directory, a FIFO, a block device, a socket) is an error
// and is left as it is.
func Write(path string, fill func(w io.Writer) error) error {
	t, err := classify(path)
	if err != nil {
		return err
	}
	switch t.kind {
	case streamFD:
		w, closeFn, err := openDescriptor(t.fd, path)
		if err != nil {
			return err
		}
		if err := fill(w); err != nil {
			closeFn()
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := closeFn(); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	case streamDevice:
		f, err := os.OpenFile(t.path, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		if err := fill(f); err != nil {
			f.Close()
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	}
	if err := writeAtomic(t.path, fill); err != nil {
		if t.path != path {
			return fmt.Errorf("%s (link to %s): %w", path, t.path, err)
		}
		return err
	}
	return nil
}

// pending holds the temporary files and staging folders of the writes in
// progress, for RemovePending.
var pending = struct {
	sync.Mutex
	paths map[string]bool
}{paths: map[string]bool{}}

func track(path string) {
	pending.Lock()
	pending.paths[path] = true
	pending.Unlock()
}

// Track registers a temporary file or folder that another writer (a
// dataset generator, an archive extraction) creates beside its target, so
// that RemovePending removes it too; the returned func unregisters it once
// it is renamed into place or removed.
func Track(path string) (done func()) {
	track(path)
	return func() { untrack(path) }
}

func untrack(path string) {
	pending.Lock()
	delete(pending.paths, path)
	pending.Unlock()
}

// RemovePending deletes the temporary file or staging folder of every
// Write and WriteSet of this process that has not finished, and returns
// their paths, sorted. It is for a process that must end at once (a second
// Ctrl-C): the unfinished writes then leave nothing behind, and their
// targets keep their old contents. A write that has already renamed its
// temporary into place is not undone: only temporary names are removed.
func RemovePending() []string {
	pending.Lock()
	defer pending.Unlock()
	var removed []string
	for p := range pending.paths {
		if err := os.RemoveAll(p); err == nil {
			removed = append(removed, p)
		}
		delete(pending.paths, p)
	}
	sort.Strings(removed)
	return removed
}

// writeAtomic is Write for a missing path or a regular file.
func writeAtomic(path string, fill func(w io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	track(tmp.Name())
	defer untrack(tmp.Name())
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = fill(tmp); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err = os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	syncDir(dir)
	return nil
}

// syncDir persists renames in dir.
func syncDir(dir string) {
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
}

// WriteBytes creates path atomically with data.
func WriteBytes(path string, data []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteSet writes a set of files into the directory dir as one unit: fill
// writes them into a fresh staging directory next to dir, and only when it
// succeeds are they moved into dir (created if needed) by renames, with the
// file named last moved after all the others, so its presence marks a
// complete set. When fill fails, nothing in dir changes and the staging
// directory is removed. If dir did not exist, the staging directory itself is
// renamed to dir, so dir appears complete or not at all.
func WriteSet(dir, last string, fill func(staging string) error) (err error) {
	if err := CheckSetDir(dir); err != nil {
		return err
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	staging, err := os.MkdirTemp(parent, "."+filepath.Base(filepath.Clean(dir))+".tmp-*")
	if err != nil {
		return err
	}
	track(staging)
	defer untrack(staging)
	defer func() {
		if err != nil {
			os.RemoveAll(staging)
		}
	}()
	if err = fill(staging); err != nil {
		return err
	}
	if _, serr := os.Stat(dir); os.IsNotExist(serr) {
		if err = os.Chmod(staging, 0o755); err != nil {
			return err
		}
		if err = os.Rename(staging, dir); err == nil {
			syncDir(parent)
			return nil
		}
		// Another process created dir meanwhile: move the files in instead.
		if _, serr := os.Stat(dir); serr != nil {
			return fmt.Errorf("%s: %w", dir, err)
		}
	}
	// Sets written into one directory by several processes at once are
	// moved in one after the other, so the last named file always lists a
	// set whose files are all its own.
	unlock, err := lockDir(dir)
	if err != nil {
		return err
	}
	defer unlock()
	entries, err := os.ReadDir(staging)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.SliceStable(names, func(i, j int) bool { return names[j] == last && names[i] != last })
	for _, n := range names {
		if err = os.Rename(filepath.Join(staging, n), filepath.Join(dir, n)); err != nil {
			return fmt.Errorf("%s: %w", filepath.Join(dir, n), err)
		}
	}
	syncDir(dir)
	return os.Remove(staging)
}
