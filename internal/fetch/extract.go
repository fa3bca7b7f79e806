package fetch

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/ulikunitz/xz"

	"github.com/padim-go/padim/internal/atomicfile"
)

// Extract unpacks the tar archive at archive (xz- or gzip-compressed or
// plain, told apart by content) so that its entries end up under destDir,
// which must not exist yet. Entries are written into a temporary directory
// beside destDir that is renamed to destDir only after the last entry is
// written and synced, so destDir is either absent or complete.
//
// Only directories and regular files are accepted: absolute names, names
// with ".." that climb out of destDir, links and device files are errors,
// and on any error nothing is left behind.
func Extract(ctx context.Context, archive, destDir string) (err error) {
	if _, err := os.Lstat(destDir); err == nil {
		return fmt.Errorf("extract %s: destination %s already exists", archive, destDir)
	}
	f, err := os.Open(archive)
	if err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	defer f.Close()
	r, err := decompress(bufio.NewReaderSize(f, 1<<16))
	if err != nil {
		return fmt.Errorf("extract %s: %w", archive, err)
	}
	parent := filepath.Dir(destDir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("extract %s: %w", archive, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(destDir)+".extract-*")
	if err != nil {
		return fmt.Errorf("extract %s: %w", archive, err)
	}
	defer atomicfile.Track(tmp)()
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := untar(ctx, tar.NewReader(r), tmp); err != nil {
		return fmt.Errorf("extract %s: %w", archive, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("extract %s: %w", archive, err)
	}
	syncDir(tmp)
	if err := os.Rename(tmp, destDir); err != nil {
		return fmt.Errorf("extract %s: %w", archive, err)
	}
	syncDir(parent)
	return nil
}

// decompress recognises xz and gzip by their magic bytes; anything else is
// taken as a plain tar stream (which tar itself will reject if it is not).
func decompress(br *bufio.Reader) (io.Reader, error) {
	magic, _ := br.Peek(6)
	switch {
	case bytes.HasPrefix(magic, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		r, err := xz.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("xz: %w", err)
		}
		return r, nil
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		r, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return r, nil
	}
	return br, nil
}

func untar(ctx context.Context, tr *tar.Reader, root string) error {
	entries := 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("after %d entries: corrupt or truncated archive: %w", entries, err)
		}
		entries++
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		target, err := safeJoin(root, hdr.Name)
		if err != nil {
			return err
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return fmt.Errorf("entry %s: %w", hdr.Name, err)
			}
		case tar.TypeReg, tar.TypeRegA:
			if err := writeFile(target, tr, hdr.FileInfo().Mode()); err != nil {
				return fmt.Errorf("entry %s: %w", hdr.Name, err)
			}
		case tar.TypeSymlink, tar.TypeLink:
			return fmt.Errorf("entry %s: links are not extracted (target %q)", hdr.Name, hdr.Linkname)
		default:
			return fmt.Errorf("entry %s: unsupported tar entry type %q", hdr.Name, hdr.Typeflag)
		}
	}
	if entries == 0 {
		return errors.New("archive has no entries")
	}
	return nil
}

// safeJoin maps a tar entry name to a path under root, refusing names that
// are absolute or climb out of root.
func safeJoin(root, name string) (string, error) {
	clean := path.Clean(strings.ReplaceAll(name, `\`, "/"))
	if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") || filepath.VolumeName(clean) != "" {
		return "", fmt.Errorf("entry %s: path escapes the destination directory", name)
	}
	if clean == "." {
		return root, nil
	}
	target := filepath.Join(root, filepath.FromSlash(clean))
	if !strings.HasPrefix(target, root+string(filepath.Separator)) {
		return "", fmt.Errorf("entry %s: path escapes the destination directory", name)
	}
	return target, nil
}

func writeFile(target string, r io.Reader, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	perm := os.FileMode(0o644)
	if mode&0o111 != 0 {
		perm = 0o755
	}
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
