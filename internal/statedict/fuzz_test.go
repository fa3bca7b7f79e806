package statedict

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pthParts returns the data.pkl and first storage of a fixture archive.
func pthParts(tb testing.TB, path string) (pkl, storage []byte) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			tb.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		switch {
		case strings.HasSuffix(f.Name, "/data.pkl"):
			pkl = b
		case strings.HasSuffix(f.Name, "/data/0"):
			storage = b
		}
	}
	return pkl, storage
}

// buildPth zips a pickle with storages 0..3 all holding storage, the
// layout torch.save writes.
func buildPth(pkl, storage []byte) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, b []byte) {
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: "archive/" + name, Method: zip.Store})
		w.Write(b)
	}
	add("data.pkl", pkl)
	for _, k := range []string{"0", "1", "2", "3"} {
		add("data/"+k, storage)
	}
	add("version", []byte("3\n"))
	zw.Close()
	return buf.Bytes()
}

// checkDecoded asserts what every successful decode must satisfy.
func checkDecoded(t *testing.T, sd StateDict) {
	for name, tensor := range sd {
		if tensor == nil || tensor.Name != name {
			t.Fatalf("tensor %q stored as %+v", name, tensor)
		}
		n := 1
		for _, d := range tensor.Shape {
			if d < 0 {
				t.Fatalf("tensor %s: negative shape %v", name, tensor.Shape)
			}
			n *= d
		}
		if n != len(tensor.Data) {
			t.Fatalf("tensor %s: %d values for shape %v", name, len(tensor.Data), tensor.Shape)
		}
	}
}

// FuzzPth unpickles arbitrary data.pkl contents (with arbitrary storage
// bytes) inside a well-formed torch archive: no input may panic, hang or
// allocate beyond its size, and whatever decodes must be self-consistent.
func FuzzPth(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.pth")
	for _, p := range files {
		pkl, st := pthParts(f, p)
		f.Add(pkl, st)
	}
	f.Fuzz(func(t *testing.T, pkl, storage []byte) {
		file := buildPth(pkl, storage)
		sd, err := Read(bytes.NewReader(file), int64(len(file)))
		if err != nil {
			return
		}
		checkDecoded(t, sd)
	})
}

// FuzzSafetensors feeds arbitrary bytes to the safetensors decoder (and, if
// they happen to look like a zip, to the .pth one).
func FuzzSafetensors(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.safetensors")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("\x10\x00\x00\x00\x00\x00\x00\x00{\"__metadata__\":{}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sd, err := Read(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		checkDecoded(t, sd)
	})
}
