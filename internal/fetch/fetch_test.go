package fetch

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ulikunitz/xz"
)

func payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/256)
	}
	return b
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// server serves body with Range support and records the requests' Range
// headers.
type server struct {
	body        []byte
	ignoreRange bool
	mu          sync.Mutex
	ranges      []string
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.ranges = append(s.ranges, r.Header.Get("Range"))
	s.mu.Unlock()
	if s.ignoreRange {
		r.Header.Del("Range")
	}
	http.ServeContent(w, r, "w.pth", time.Time{}, bytes.NewReader(s.body))
}

func TestDownload(t *testing.T) {
	body := payload(300_000)
	full := sha(body)
	tests := []struct {
		name        string
		hash        string
		partial     []byte // left by an earlier attempt
		ignoreRange bool
		wantRange   string
	}{
		{"fresh, full hash", full, nil, false, ""},
		{"fresh, upper-case 8-digit prefix", strings.ToUpper(full[:8]), nil, false, ""},
		{"resume", full, body[:123_457], false, "bytes=123457-"},
		{"resume, server ignores range", full, body[:1000], true, "bytes=1000-"},
		{"partial already complete", full, body, false, "bytes=300000-"},
		{"partial is garbage, server ignores range", full, []byte("garbage"), true, "bytes=7-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &server{body: body, ignoreRange: tt.ignoreRange}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			dest := filepath.Join(t.TempDir(), "sub", "w.pth")
			if tt.partial != nil {
				os.MkdirAll(filepath.Dir(dest), 0o755)
				os.WriteFile(dest+".partial", tt.partial, 0o644)
			}
			var progress bytes.Buffer
			if err := Download(context.Background(), ts.URL+"/w.pth", tt.hash, dest, &progress); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(dest)
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("dest holds %d bytes (err %v), want the %d served", len(got), err, len(body))
			}
			if _, err := os.Stat(dest + ".partial"); !os.IsNotExist(err) {
				t.Errorf("partial file left behind: %v", err)
			}
			if len(srv.ranges) != 1 || srv.ranges[0] != tt.wantRange {
				t.Errorf("requests' Range headers %q, want [%q]", srv.ranges, tt.wantRange)
			}
			if !strings.Contains(progress.String(), "w.pth: ") {
				t.Errorf("progress output %q", progress.String())
			}
			// A second call finds the verified file and makes no request.
			if err := Download(context.Background(), ts.URL+"/w.pth", tt.hash, dest, nil); err != nil || len(srv.ranges) != 1 {
				t.Errorf("second Download: err %v, %d requests", err, len(srv.ranges))
			}
		})
	}
}

func TestDownloadErrors(t *testing.T) {
	body := payload(5000)
	mux := http.NewServeMux()
	mux.Handle("/w.pth", &server{body: body})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	wrong := sha([]byte("something else"))
	tests := []struct {
		name, path, hash string
		want             []string
	}{
		{"checksum mismatch", "/w.pth", wrong, []string{srv.URL + "/w.pth", "sha256 mismatch", "expected " + wrong, "got " + sha(body)}},
		{"prefix mismatch", "/w.pth", "deadbeef", []string{"expected deadbeef", "got " + sha(body)}},
		{"not found", "/missing", sha(body), []string{srv.URL + "/missing", "404"}},
		{"short hash", "/w.pth", "abc", []string{"want 8 to 64 hex digits"}},
		{"non-hex hash", "/w.pth", "zzzzzzzzzz", []string{"not hexadecimal"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dest := filepath.Join(t.TempDir(), "w.pth")
			err := Download(context.Background(), srv.URL+tt.path, tt.hash, dest, nil)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			for _, p := range []string{dest, dest + ".partial"} {
				if st, err := os.Stat(p); err == nil && (p == dest || st.Size() > 0) {
					t.Errorf("%s left behind (%d bytes)", p, st.Size())
				}
			}
		})
	}
}

// Cancelling mid-transfer keeps the partial file; the next call resumes it.
func TestDownloadCancelThenResume(t *testing.T) {
	body := payload(200_000)
	half := 80_000
	sent := make(chan struct{})
	stall := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "200000")
		w.Write(body[:half])
		w.(http.Flusher).Flush()
		close(sent)
		<-r.Context().Done() // hold the connection until the client gives up
	}))
	defer stall.Close()
	dest := filepath.Join(t.TempDir(), "w.pth")
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-sent
		// Give the client a moment to write what arrived.
		time.Sleep(100 * time.Millisecond)
		cancel()
	}()
	err := Download(ctx, stall.URL, sha(body), dest, nil)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), stall.URL) {
		t.Fatalf("err = %v, want context.Canceled naming the URL", err)
	}
	part, _ := os.ReadFile(dest + ".partial")
	if len(part) == 0 || len(part) > half || !bytes.Equal(part, body[:len(part)]) {
		t.Fatalf("partial holds %d bytes, want a prefix of the %d sent", len(part), half)
	}
	if _, err := os.Stat(dest); !os.IsNotExist(err) {
		t.Fatal("dest exists after a cancelled download")
	}
	srv := &server{body: body}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	if err := Download(context.Background(), ts.URL, sha(body), dest, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dest); !bytes.Equal(got, body) {
		t.Fatal("resumed download differs from the served file")
	}
	if want := "bytes=" + strconv.Itoa(len(part)) + "-"; len(srv.ranges) != 1 || srv.ranges[0] != want {
		t.Fatalf("resume Range %q, want %q", srv.ranges, want)
	}
}

type entry struct {
	name, body string
	typ        byte
	link       string
}

func makeTar(t *testing.T, compress string, entries []entry) string {
	t.Helper()
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body)), Linkname: e.link}
		if e.typ == tar.TypeDir {
			h.Mode, h.Size = 0o755, 0
		}
		if e.typ == tar.TypeSymlink || e.typ == tar.TypeLink {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	var out bytes.Buffer
	switch compress {
	case "xz":
		w, err := xz.NewWriter(&out)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(raw.Bytes())
		w.Close()
	case "gz":
		w := gzip.NewWriter(&out)
		w.Write(raw.Bytes())
		w.Close()
	default:
		out = raw
	}
	p := filepath.Join(t.TempDir(), "a.tar."+compress)
	if err := os.WriteFile(p, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExtract(t *testing.T) {
	good := []entry{
		{name: "bottle/", typ: tar.TypeDir},
		{name: "bottle/train/good/000.png", body: "png0", typ: tar.TypeReg},
		{name: "./bottle/test/broken/001.png", body: "png1", typ: tar.TypeReg}, // parent dir not listed
		{name: "bottle/license.txt", body: strings.Repeat("CC BY-NC-SA ", 1000), typ: tar.TypeReg},
	}
	for _, c := range []string{"xz", "gz", "tar"} {
		t.Run(c, func(t *testing.T) {
			arch := makeTar(t, c, good)
			dest := filepath.Join(t.TempDir(), "out", "mvtec")
			if err := Extract(context.Background(), arch, dest); err != nil {
				t.Fatal(err)
			}
			for _, e := range good[1:] {
				got, err := os.ReadFile(filepath.Join(dest, e.name))
				if err != nil || string(got) != e.body {
					t.Errorf("%s: %q, %v", e.name, got, err)
				}
			}
			left, _ := os.ReadDir(filepath.Dir(dest))
			if len(left) != 1 {
				t.Errorf("%d entries beside dest, want only dest", len(left))
			}
			err := Extract(context.Background(), arch, dest)
			if err == nil || !strings.Contains(err.Error(), "already exists") {
				t.Errorf("second Extract: %v", err)
			}
		})
	}
}

func TestExtractRejects(t *testing.T) {
	ok := entry{name: "a/ok.txt", body: "fine", typ: tar.TypeReg}
	tests := []struct {
		name    string
		entries []entry
		want    string
	}{
		{"parent escape", []entry{ok, {name: "../evil.txt", body: "x", typ: tar.TypeReg}}, "escapes"},
		{"nested escape", []entry{ok, {name: "a/../../evil.txt", body: "x", typ: tar.TypeReg}}, "escapes"},
		{"absolute", []entry{ok, {name: "/tmp/evil.txt", body: "x", typ: tar.TypeReg}}, "escapes"},
		{"backslash escape", []entry{ok, {name: `..\evil.txt`, body: "x", typ: tar.TypeReg}}, "escapes"},
		{"symlink", []entry{ok, {name: "a/link", typ: tar.TypeSymlink, link: "/etc"}}, "links are not extracted"},
		{"hard link", []entry{ok, {name: "a/hl", typ: tar.TypeLink, link: "../../etc/passwd"}}, "links are not extracted"},
		{"fifo", []entry{ok, {name: "a/fifo", typ: tar.TypeFifo}}, "unsupported tar entry type"},
		{"empty", nil, "no entries"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			arch := makeTar(t, "gz", tt.entries)
			parent := t.TempDir()
			dest := filepath.Join(parent, "out")
			err := Extract(context.Background(), arch, dest)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), arch) {
				t.Fatalf("err = %v, want it to name %s and mention %q", err, arch, tt.want)
			}
			if left, _ := os.ReadDir(parent); len(left) != 0 {
				t.Fatalf("left behind: %v", left)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(parent), "evil.txt")); err == nil {
				t.Fatal("escaped file written")
			}
		})
	}
}

func TestExtractTruncatedAndCancelled(t *testing.T) {
	arch := makeTar(t, "xz", []entry{{name: "big.bin", body: string(payload(100_000)), typ: tar.TypeReg}})
	b, _ := os.ReadFile(arch)
	os.WriteFile(arch, b[:len(b)/2], 0o644)
	parent := t.TempDir()
	if err := Extract(context.Background(), arch, filepath.Join(parent, "out")); err == nil {
		t.Fatal("truncated archive extracted without error")
	}
	if left, _ := os.ReadDir(parent); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	arch = makeTar(t, "gz", []entry{{name: "x", body: "x", typ: tar.TypeReg}})
	if err := Extract(ctx, arch, filepath.Join(parent, "out")); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Extract: %v", err)
	}
	if left, _ := os.ReadDir(parent); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
}
