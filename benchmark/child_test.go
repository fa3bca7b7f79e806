package benchmark

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/padim-go/padim/datasets"
)

// childMode makes the test binary play a child process: TestMain runs
// the mode named in it instead of the tests.
const childMode = "PADIM_BENCHMARK_TEST_CHILD"

// childResult is what the "result" child prints: the fields a Go child
// fills, with values that survive JSON exactly.
var childResult = E2EResult{Impl: "go", Backbone: "resnet18", D: 100, Train: 200, Test: 100, Threads: 2,
	Seconds:    map[string]float64{"decode": 0.25, "features_train": 3.5, "fit": 0.75, "finalize": 0.125, "total": 7.25},
	CPUSeconds: map[string]float64{"decode": 0.5, "total": 14.5}, PeakRSSBytes: 654311424, ImageAUROC: 1, PixelAUROC: 0.994,
	Version: "go1.26.8", BLASCore: "openblas/SkylakeX"}

func TestMain(m *testing.M) {
	switch os.Getenv(childMode) {
	case "":
		os.Exit(m.Run())
	case "result": // warnings first, as torch prints them, then the result
		fmt.Println("UserWarning: something about threads")
		fmt.Println("{not json either")
		fmt.Fprintln(os.Stderr, "progress on stderr")
		if err := writeJSONLine(os.Stdout, childResult); err != nil {
			os.Exit(2)
		}
		os.Exit(0)
	case "fail":
		fmt.Fprintln(os.Stderr, "line 1\nline 2\nline 3\nbench: out of memory")
		os.Exit(3)
	case "silent":
		fmt.Println("no result here")
		os.Exit(0)
	case "anchor":
		os.Exit(fakeAnchorRunner(os.Args[1:]))
	}
	os.Exit(4)
}

// TestChildRoundTrip runs this test binary as a child that prints other
// lines, then its result: the parent decodes exactly what the child
// encoded, and passes the child's stderr through.
func TestChildRoundTrip(t *testing.T) {
	t.Setenv(childMode, "result")
	var stderr bytes.Buffer
	var got E2EResult
	if err := runJSONChild(context.Background(), &stderr, &got, os.Args[0]); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, childResult) {
		t.Errorf("decoded %+v, want %+v", got, childResult)
	}
	if !strings.Contains(stderr.String(), "progress on stderr") {
		t.Errorf("child's stderr not passed through: %q", stderr.String())
	}
}

// TestChildFailure: a failing child's error names the command and quotes
// the last three lines of its stderr; a child without a result line is an
// error too.
func TestChildFailure(t *testing.T) {
	t.Setenv(childMode, "fail")
	var r E2EResult
	err := runJSONChild(context.Background(), &bytes.Buffer{}, &r, os.Args[0], "--child", "x")
	if err == nil || !strings.Contains(err.Error(), os.Args[0]+" --child x") || !strings.Contains(err.Error(), "exit status 3") ||
		!strings.Contains(err.Error(), "line 2\nline 3\nbench: out of memory") || strings.Contains(err.Error(), "line 1") {
		t.Errorf("error %v", err)
	}
	t.Setenv(childMode, "silent")
	if err := runJSONChild(context.Background(), &bytes.Buffer{}, &r, os.Args[0]); err == nil || !strings.Contains(err.Error(), "printed no JSON result") {
		t.Errorf("silent child: error %v", err)
	}
}

func TestDecodeLastJSON(t *testing.T) {
	var v struct{ A int }
	if err := decodeLastJSON([]byte("{\"A\": 1}\nwarning\n{\"A\": 2}\n\n"), &v); err != nil || v.A != 2 {
		t.Errorf("got %+v, %v; want the last object, A=2", v, err)
	}
	if err := decodeLastJSON([]byte("{\"A\": 1}\n{broken\n"), &v); err == nil || !strings.Contains(err.Error(), "{broken") {
		t.Errorf("a broken last result line: error %v", err)
	}
}

// TestWriteFileList: the PyTorch script gets the first train and test
// images of the split, in order, with masks and labels.
func TestWriteFileList(t *testing.T) {
	split := &datasets.Split{
		Train: []datasets.Sample{{Path: "t0.png"}, {Path: "t1.png"}, {Path: "t2.png"}},
		Test:  []datasets.Sample{{Path: "g.png"}, {Path: "d.png", MaskPath: "d_mask.png", Label: 1}, {Path: "x.png", Label: 1}},
	}
	name, err := writeFileList(split, 2, 2, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var got fileList
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := fileList{Train: []string{"t0.png", "t1.png"}, Test: []fileImage{{Path: "g.png"}, {Path: "d.png", Mask: "d_mask.png", Label: 1}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("file list %+v, want %+v", got, want)
	}
}
