package fetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// minHashPrefix is the shortest accepted hash prefix; torchvision file
// names carry 8 to 10 hex digits ("resnet18-f37072fd.pth").
const minHashPrefix = 8

// Client is the HTTP client Download uses; tests and callers needing
// proxies or timeouts may replace it.
var Client = http.DefaultClient

// Download fetches url into dest unless dest already exists with the
// expected hash. wantSHA256 is the file's SHA-256 in hex, either in full or
// as a prefix of at least 8 digits (as torchvision file names carry).
//
// Bytes go to dest+".partial"; if that file exists from an interrupted run
// the download resumes from its end with an HTTP Range request (starting
// over when the server ignores the range). The result is hashed, fsynced
// and renamed to dest. On a hash mismatch the partial file is deleted and
// the error names the URL and both hashes. On any other failure, including
// cancellation of ctx, the partial file is kept for the next attempt.
// Progress lines, if progress is non-nil, are written at most once a second.
func Download(ctx context.Context, url, wantSHA256, dest string, progress io.Writer) error {
	want := strings.ToLower(wantSHA256)
	if err := checkHash(want); err != nil {
		return fmt.Errorf("fetch %s: %w", url, err)
	}
	if got, err := fileSHA256(dest); err == nil && strings.HasPrefix(got, want) {
		return nil
	}
	partial := dest + ".partial"
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return fmt.Errorf("fetch %s: %w", url, err)
	}
	got, err := fetchTo(ctx, url, partial, progress)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", url, err)
	}
	if !strings.HasPrefix(got, want) {
		os.Remove(partial)
		return fmt.Errorf("fetch %s: sha256 mismatch: expected %s, got %s (download deleted)", url, want, got)
	}
	if err := os.Rename(partial, dest); err != nil {
		return fmt.Errorf("fetch %s: %w", url, err)
	}
	syncDir(filepath.Dir(dest))
	return nil
}

func checkHash(h string) error {
	if len(h) < minHashPrefix || len(h) > sha256.Size*2 {
		return fmt.Errorf("sha256 %q: want %d to %d hex digits", h, minHashPrefix, sha256.Size*2)
	}
	if strings.Trim(h, "0123456789abcdef") != "" {
		return fmt.Errorf("sha256 %q is not hexadecimal", h)
	}
	return nil
}

// fetchTo downloads url into partial, resuming what is there, and returns
// the SHA-256 of the complete file. The file is fsynced before returning.
func fetchTo(ctx context.Context, url, partial string, progress io.Writer) (string, error) {
	f, err := os.OpenFile(partial, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	// Hash what an earlier attempt left; that is also where we resume.
	have, err := io.Copy(h, f)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", partial, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	resp, err := Client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	total := int64(-1)
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0:
		start, size, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != have {
			return "", fmt.Errorf("asked to resume at byte %d, server answered Content-Range %q", have, resp.Header.Get("Content-Range"))
		}
		total = size
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && have > 0:
		// The partial file is already whole (or longer than the file);
		// its hash decides.
		if progress != nil {
			fmt.Fprintf(progress, "%s: %d bytes already downloaded\n", filepath.Base(strings.TrimSuffix(partial, ".partial")), have)
		}
		if err := f.Sync(); err != nil {
			return "", err
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	case resp.StatusCode == http.StatusOK:
		// Fresh start, or a server that ignores Range: begin again.
		if have > 0 {
			h.Reset()
			have = 0
			if err := f.Truncate(0); err != nil {
				return "", err
			}
		}
		total = resp.ContentLength
	default:
		return "", fmt.Errorf("HTTP %s", resp.Status)
	}
	if _, err := f.Seek(have, io.SeekStart); err != nil {
		return "", err
	}
	p := &meter{w: progress, name: filepath.Base(strings.TrimSuffix(partial, ".partial")), done: have, total: total}
	_, err = io.Copy(io.MultiWriter(f, h, p), resp.Body)
	p.report(true)
	if err != nil {
		// Keep what arrived for the next attempt to resume from.
		f.Sync()
		if ctxErr := ctx.Err(); ctxErr != nil {
			return "", fmt.Errorf("interrupted after %d bytes: %w", p.done, ctxErr)
		}
		return "", fmt.Errorf("interrupted after %d bytes: %w", p.done, err)
	}
	if err := f.Sync(); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// parseContentRange reads "bytes START-END/SIZE" (SIZE may be "*").
func parseContentRange(s string) (start, size int64, ok bool) {
	rest, found := strings.CutPrefix(s, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, sz, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	a, _, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	size = -1
	if sz != "*" {
		if size, err = strconv.ParseInt(sz, 10, 64); err != nil {
			return 0, 0, false
		}
	}
	return start, size, true
}

// meter writes throttled progress lines.
type meter struct {
	w           io.Writer
	name        string
	done, total int64
	last        time.Time
}

func (m *meter) Write(b []byte) (int, error) {
	m.done += int64(len(b))
	m.report(false)
	return len(b), nil
}

func (m *meter) report(final bool) {
	if m.w == nil || (!final && time.Since(m.last) < time.Second) {
		return
	}
	m.last = time.Now()
	const mib = 1 << 20
	if m.total > 0 {
		fmt.Fprintf(m.w, "%s: %.1f / %.1f MiB (%.0f%%)\n", m.name, float64(m.done)/mib, float64(m.total)/mib, 100*float64(m.done)/float64(m.total))
	} else {
		fmt.Fprintf(m.w, "%s: %.1f MiB\n", m.name, float64(m.done)/mib)
	}
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() {
		return "", errors.New("not a regular file")
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// syncDir makes a rename in dir durable; failure only weakens durability.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
