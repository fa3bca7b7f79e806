package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRepoRootHoldsGoMod(t *testing.T) {
	if _, err := os.Stat(filepath.Join(RepoRoot(t), "go.mod")); err != nil {
		t.Fatal(err)
	}
}

func TestSharedDataResolvesRelativeToRoot(t *testing.T) {
	t.Setenv("PADIM_DATA", "internal")
	if got, want := SharedData(t), filepath.Join(RepoRoot(t), "internal"); got != want {
		t.Fatalf("SharedData = %s, want %s", got, want)
	}
}

// recorder is a testing.TB that records whether a helper skipped or failed
// instead of stopping the real test.
type recorder struct {
	testing.TB
	skipped, failed bool
	msg             string
}

type stop struct{}

func (r *recorder) Helper() {}
func (r *recorder) Skip(args ...any) {
	r.skipped, r.msg = true, fmt.Sprint(args...)
	panic(stop{})
}
func (r *recorder) Fatal(args ...any) {
	r.failed, r.msg = true, fmt.Sprint(args...)
	panic(stop{})
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
	panic(stop{})
}

func call(t *testing.T, f func(tb testing.TB)) *recorder {
	r := &recorder{TB: t}
	func() {
		defer func() {
			if v := recover(); v != nil {
				if _, ok := v.(stop); !ok {
					panic(v)
				}
			}
		}()
		f(r)
	}()
	return r
}

func TestSharedDataMissing(t *testing.T) {
	for _, c := range []struct {
		ci, data   string
		skip, fail bool
		want       string
	}{
		{ci: "", data: "", skip: true, want: "PADIM_DATA is not set"},
		{ci: "false", data: "", skip: true, want: "PADIM_DATA is not set"},
		{ci: "true", data: "", fail: true, want: "under CI"},
		{ci: "", data: "no/such/folder", fail: true, want: "no/such/folder"},
	} {
		t.Setenv("CI", c.ci)
		t.Setenv("PADIM_DATA", c.data)
		r := call(t, func(tb testing.TB) { SharedData(tb) })
		if r.skipped != c.skip || r.failed != c.fail || !strings.Contains(r.msg, c.want) {
			t.Errorf("CI=%q PADIM_DATA=%q: skipped %v failed %v %q; want skipped %v failed %v, message with %q",
				c.ci, c.data, r.skipped, r.failed, r.msg, c.skip, c.fail, c.want)
		}
	}
}

func TestSharedFileMissingFails(t *testing.T) {
	t.Setenv("CI", "")
	t.Setenv("PADIM_DATA", "internal")
	r := call(t, func(tb testing.TB) { SharedFile(tb, "weights/nothing.pth") })
	if !r.failed || !strings.Contains(r.msg, "weights/nothing.pth") {
		t.Fatalf("SharedFile of a missing file: failed %v, %q", r.failed, r.msg)
	}
	r = call(t, func(tb testing.TB) {
		if got := SharedFile(tb, "testenv"); got != filepath.Join(RepoRoot(t), "internal", "testenv") {
			tb.Fatalf("SharedFile = %s", got)
		}
	})
	if r.failed || r.skipped {
		t.Fatalf("SharedFile of an existing folder: %q", r.msg)
	}
}
