package sysmem

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestReadMeminfo(t *testing.T) {
	p := filepath.Join(t.TempDir(), "meminfo")
	os.WriteFile(p, []byte("MemTotal:       24576000 kB\nMemFree:   100 kB\nMemAvailable:   20000000 kB\nHugePages_Total:       0\n"), 0o644)
	m, err := readMeminfo(p)
	if err != nil {
		t.Fatal(err)
	}
	if m["MemTotal"] != 24576000*1024 || m["MemAvailable"] != 20000000*1024 || m["HugePages_Total"] != 0 {
		t.Fatalf("parsed %v", m)
	}
}

func TestAvailableOnLinux(t *testing.T) {
	b, src, ok := Available()
	if runtime.GOOS != "linux" {
		t.Skip("only Linux reports memory")
	}
	if !ok || b < 1<<20 || src == "" {
		t.Fatalf("Available() = %d, %q, %v", b, src, ok)
	}
}

func TestFormat(t *testing.T) {
	for in, want := range map[float64]string{5e8: "500 MB", 2.34e9: "2.3 GB", 1.9e12: "1.9 TB"} {
		if got := Format(in); got != want {
			t.Errorf("Format(%g) = %q, want %q", in, got, want)
		}
	}
}
