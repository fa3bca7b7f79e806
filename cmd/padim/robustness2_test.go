package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/padim-go/padim/datasets"
	"github.com/padim-go/padim/padim"
)

// These tests run the real binary (built once into a temp dir) on broken
// inputs and hostile output paths: issue 14's cases. Every failure must be
// a one-line "padim: ..." error naming the file, before any work where
// that is possible, never a Go stack trace, a hang, or a changed input.

// cli is the built binary and the shared fixtures of one test.
type cli struct {
	t       *testing.T
	bin     string
	weights string
	data    string // generated MVTec-style root with category "stripes"
	model   string // fitted on data
	cache   string // the PADIM_CACHE of its runs
	env     []string
}

// result is one finished run of the binary.
type result struct {
	code           int
	stdout, stderr string
}

// builtBinary is the binary shared by the tests of this file: built once
// per test process into binDir, which TestMain (bench_test.go) removes.
var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

func padimBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "padim-bin-*"); buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "padim")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func newCLI(t *testing.T) *cli {
	t.Helper()
	w := resnet18Weights(t)
	dir := t.TempDir()
	bin := padimBinary(t)
	c := &cli{t: t, bin: bin, weights: w, data: tinySynthetic(t, []string{"stripes"}, 3), cache: filepath.Join(dir, "cache"),
		env: append(os.Environ(), "PADIM_CACHE="+filepath.Join(dir, "cache"), "PADIM_DATA="+testDataDir(t))}
	c.model = filepath.Join(dir, "stripes.padim")
	c.ok("fit", "--data", c.data, "--category", "stripes", "--weights", w, "--dims", "10", "--batch", "4", "--out", c.model)
	return c
}

// run runs the binary with a time limit: a hang fails the test instead of
// stalling it.
func (c *cli) run(args ...string) result {
	c.t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Env = c.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(3 * time.Minute):
		cmd.Process.Kill()
		<-done
		c.t.Fatalf("padim %s: still running after 3 minutes (a hang)\nstderr: %s", strings.Join(args, " "), stderr.String())
	}
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	default:
		c.t.Fatal(err)
	}
	for _, bad := range []string{"goroutine ", "panic:", "fatal error", "runtime."} {
		if strings.Contains(r.stderr, bad) {
			c.t.Errorf("padim %s: a Go crash reached the user (%q):\n%s", strings.Join(args, " "), bad, r.stderr)
		}
	}
	return r
}

func (c *cli) ok(args ...string) result {
	c.t.Helper()
	r := c.run(args...)
	if r.code != 0 {
		c.t.Fatalf("padim %s: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r
}

// fails runs a command that must exit 1 with one "padim: " message holding
// every want, and with nothing on standard output (no work started).
func (c *cli) fails(args []string, want ...string) result {
	c.t.Helper()
	return c.failsWith(exitError, args, want...)
}

// failsWith is fails for a given exit status: exitUsage (2) for a wrong
// command line, exitError (1) for anything else.
func (c *cli) failsWith(code int, args []string, want ...string) result {
	c.t.Helper()
	r := c.run(args...)
	if r.code != code {
		c.t.Fatalf("padim %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, code, r.stdout, r.stderr)
	}
	if !strings.HasPrefix(r.stderr, "padim: ") {
		c.t.Errorf("stderr does not start with the padim: message: %q", r.stderr)
	}
	if strings.HasPrefix(r.stderr, "padim: padim: ") {
		c.t.Errorf("stderr doubles the padim: prefix: %q", r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			c.t.Errorf("padim %s: message does not contain %q:\n%s", strings.Join(args, " "), w, r.stderr)
		}
	}
	if r.stdout != "" {
		c.t.Errorf("padim %s: work started before the error: stdout %q", strings.Join(args, " "), r.stdout)
	}
	c.t.Logf("user sees: %s", strings.TrimSpace(r.stderr))
	return r
}

func (c *cli) fit(out string, extra ...string) []string {
	return append([]string{"fit", "--data", c.data, "--category", "stripes", "--weights", c.weights, "--dims", "10", "--batch", "4", "--out", out}, extra...)
}

func (c *cli) test(extra ...string) []string {
	return append([]string{"test", "--model", c.model, "--weights", c.weights, "--data", c.data, "--category", "stripes"}, extra...)
}

func fileSum(t *testing.T, p string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func mkfifo(t *testing.T, p string) string {
	t.Helper()
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	return p
}

// mknodChar makes a character device node like /dev/null (1, 3) or
// /dev/full (1, 7) in a temp dir, so the tests never touch /dev.
func mknodChar(t *testing.T, p string, minor int) (string, bool) {
	t.Helper()
	if err := syscall.Mknod(p, syscall.S_IFCHR|0o666, 1<<8|minor); err != nil {
		return "", false
	}
	return p, true
}

func isMode(t *testing.T, p string, m fs.FileMode) {
	t.Helper()
	st, err := os.Lstat(p)
	if err != nil || st.Mode().Type() != m {
		t.Errorf("%s: now %v (%v), want type %v", p, st.Mode(), err, m)
	}
}

// TestCLIOutputTargets (issue 14, 1): outputs never replace a directory,
// FIFO, device or link, never overwrite an input, and - / character devices
// are streams.
func TestCLIOutputTargets(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()

	t.Run("fit --out DIR", func(t *testing.T) {
		c.t = t
		c.fails(c.fit(dir), dir+": is a directory")
	})
	t.Run("fit --out under a file", func(t *testing.T) {
		c.t = t
		c.fails(c.fit(filepath.Join(c.model, "m.padim")), c.model+" is a regular file, not a directory")
	})
	t.Run("fit --out FIFO", func(t *testing.T) {
		c.t = t
		f := mkfifo(t, filepath.Join(dir, "out.fifo"))
		c.fails(c.fit(f), f+": is a named pipe (FIFO)")
		isMode(t, f, fs.ModeNamedPipe)
	})
	t.Run("fit --out the weights", func(t *testing.T) {
		c.t = t
		link := filepath.Join(dir, "w.pth") // a link to the shared weights: same file
		if err := os.Symlink(c.weights, link); err != nil {
			t.Fatal(err)
		}
		before := fileSum(t, c.weights)
		c.fails(c.fit(link), link+": is the input "+c.weights)
		c.fails([]string{"fit", "--data", c.data, "--category", "stripes", "--weights", link, "--out", c.weights}, "is the input "+link)
		if fileSum(t, c.weights) != before {
			t.Fatal("the weights changed")
		}
		isMode(t, link, fs.ModeSymlink)
	})
	t.Run("fit --category a path", func(t *testing.T) {
		c.t = t
		// The category folder exists one level up too: only the flag check
		// stops it from being read.
		for _, cat := range []string{"../" + filepath.Base(c.data) + "/stripes", "stripes/train", ".."} {
			c.fails([]string{"fit", "--data", c.data, "--category", cat, "--weights", c.weights, "--out", filepath.Join(dir, "cat.padim")},
				fmt.Sprintf("--category %q: want the name of one folder under --data", cat))
		}
	})
	t.Run("fit --out a training image", func(t *testing.T) {
		c.t = t
		img := filepath.Join(c.data, "stripes", "train", "good", "000.png")
		c.fails(c.fit(img), "is the input "+img)
	})
	t.Run("test --json the model", func(t *testing.T) {
		c.t = t
		before := fileSum(t, c.model)
		c.fails(c.test("--json", c.model), c.model+": is the input "+c.model)
		if fileSum(t, c.model) != before {
			t.Fatal("the model changed")
		}
	})
	t.Run("test --json DIR", func(t *testing.T) {
		c.t = t
		c.fails(c.test("--json", dir), dir+": is a directory")
	})
	t.Run("test --json -", func(t *testing.T) {
		c.t = t
		r := c.ok(c.test("--json", "-")...)
		var rep testReport
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || len(rep.Images) == 0 {
			t.Fatalf("stdout is not the JSON report (%v): %q", err, r.stdout)
		}
		if !strings.Contains(r.stderr, "image AUROC") {
			t.Errorf("the table did not go to stderr: %q", r.stderr)
		}
	})
	t.Run("test --json /proc/self/fd/1 and fit --out -", func(t *testing.T) {
		c.t = t
		// (/proc/self/fd/1 rather than /dev/stdout: should the rule ever
		// regress, a rename fails on procfs instead of replacing the
		// machine's /dev/stdout link, as root.)
		r := c.ok(c.test("--json", "/proc/self/fd/1")...)
		if !json.Valid([]byte(r.stdout)) {
			t.Errorf("stdout is not the JSON report: %.80q", r.stdout)
		}
		r = c.ok(c.fit("-")...)
		p := filepath.Join(dir, "from-stdout.padim")
		os.WriteFile(p, []byte(r.stdout), 0o644)
		m, err := padim.ReadModel(p)
		if err != nil {
			t.Fatalf("fit --out - did not write a model to stdout: %v", err)
		}
		m.Close()
		if !strings.Contains(r.stderr, "fitting PaDiM") {
			t.Errorf("fit's messages did not go to stderr: %q", r.stderr)
		}
	})
	t.Run("symbolic link to a file is written through", func(t *testing.T) {
		c.t = t
		target := filepath.Join(dir, "real.json")
		os.WriteFile(target, []byte("old"), 0o644)
		link := filepath.Join(dir, "link.json")
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		c.ok(c.test("--json", link)...)
		isMode(t, link, fs.ModeSymlink)
		b, _ := os.ReadFile(target)
		if !json.Valid(b) {
			t.Errorf("the link's target holds %.40q, not the report", b)
		}
	})
	t.Run("character devices are streams", func(t *testing.T) {
		c.t = t
		null, ok := mknodChar(t, filepath.Join(dir, "null"), 3)
		if !ok {
			t.Skip("cannot make device nodes here (not root)")
		}
		full, _ := mknodChar(t, filepath.Join(dir, "full"), 7)
		c.ok(c.test("--json", null)...)
		isMode(t, null, fs.ModeDevice|fs.ModeCharDevice)
		r := c.run(c.fit(full)...)
		if r.code != 1 || !strings.Contains(r.stderr, full) || !strings.Contains(r.stderr, "no space left on device") {
			t.Errorf("fit --out a full device: exit %d, %q", r.code, r.stderr)
		}
		isMode(t, full, fs.ModeDevice|fs.ModeCharDevice)
	})
	t.Run("predict and features --out FILE", func(t *testing.T) {
		c.t = t
		img := filepath.Join(c.data, "stripes", "test", "good", "000.png")
		c.fails([]string{"predict", "--model", c.model, "--weights", c.weights, img, "--out", c.model}, c.model+": is a regular file, not a directory")
		c.fails([]string{"features", "--weights", c.weights, img, "--out", c.model}, c.model+": is a regular file, not a directory")
	})
}

// TestCLINonRegularInputs (issue 14, 2): FIFOs, devices and directories
// given or found as inputs are errors naming them, found by stat, so
// nothing blocks.
func TestCLINonRegularInputs(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	fifo := mkfifo(t, filepath.Join(dir, "f.png"))
	img := filepath.Join(c.data, "stripes", "test", "good", "000.png")
	out := filepath.Join(dir, "m.padim")
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"FIFO as --weights", []string{"fit", "--data", c.data, "--category", "stripes", "--weights", fifo, "--out", out}, []string{fifo + ": is a named pipe (FIFO), not a regular file"}},
		{"/dev/zero as --weights", []string{"fit", "--data", c.data, "--category", "stripes", "--weights", "/dev/zero", "--out", out}, []string{"/dev/zero: is a character device, not a regular file"}},
		{"FIFO as --model", []string{"test", "--model", fifo, "--weights", c.weights, "--data", c.data, "--category", "stripes"}, []string{fifo + ": is a named pipe (FIFO)"}},
		{"FIFO as a predict image", []string{"predict", "--model", c.model, "--weights", c.weights, img, fifo, "--out", filepath.Join(dir, "p")}, []string{fifo + ": is a named pipe (FIFO)"}},
		{"FIFO as --channels", c.fit(out, "--channels", fifo), []string{fifo + ": is a named pipe (FIFO)"}},
		{"FIFO as the features image", []string{"features", "--weights", c.weights, fifo, "--out", filepath.Join(dir, "f")}, []string{fifo + ": is a named pipe (FIFO)"}},
		{"directory as --weights", []string{"fit", "--data", c.data, "--category", "stripes", "--weights", dir, "--out", out}, []string{dir + ": is a directory, not a regular file"}},
	}
	for _, k := range cases {
		t.Run(k.name, func(t *testing.T) {
			c.t = t
			c.fails(k.args, k.want...)
		})
	}
	// In the dataset: a FIFO, a directory and a symbolic link to a directory,
	// each named like a training image.
	train := filepath.Join(c.data, "stripes", "train", "good")
	fifoImg := mkfifo(t, filepath.Join(train, "f.png"))
	dirImg := filepath.Join(train, "d.png")
	os.Mkdir(dirImg, 0o755)
	linkImg := filepath.Join(train, "l.png")
	if err := os.Symlink(dir, linkImg); err != nil {
		t.Fatal(err)
	}
	c.t = t
	c.fails(c.fit(out), fifoImg+": is a named pipe (FIFO), not a regular file", dirImg+": is a directory, not a regular file",
		linkImg+": is a symbolic link to a directory, not a regular file")
}

// TestCLIInterrupt (issue 14, 2 and 6): the first SIGINT gives a plain
// message and exit 130 with no output written; a second one ends the
// process at once even while the first is still being honoured.
func TestCLIInterrupt(t *testing.T) {
	c := newCLI(t)
	data := filepath.Join(t.TempDir(), "big")
	if err := datasets.GenerateSynthetic(data, datasets.SyntheticOptions{Categories: []string{"stripes"}, Size: 256, Train: 12, TestGood: 1, TestPerDefect: 1, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	// interrupt starts a fit whose one batch (12 images at 1024x1024)
	// spends seconds in the backbone, which does not check the context: at
	// 512x512 the whole fit took under 1.5 s on an idle machine, so the
	// signals came after it had finished. It sends SIGINT after delay, so
	// the first signal comes during the backbone call, and a second one
	// after gap when gap > 0. (TestInterruptContext checks the same logic
	// without timing.)
	interrupt := func(delay, gap time.Duration) (int, string, string) {
		out := filepath.Join(t.TempDir(), "m.padim")
		cmd := exec.Command(c.bin, "fit", "--data", data, "--category", "stripes", "--weights", c.weights, "--size", "1024x1024", "--dims", "10", "--batch", "12", "--out", out)
		cmd.Env = c.env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		if !sc.Scan() || !strings.HasPrefix(sc.Text(), "fitting PaDiM") {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("no fitting line: %q %s", sc.Text(), stderr.String())
		}
		go io.Copy(io.Discard, stdout)
		time.Sleep(delay)
		cmd.Process.Signal(syscall.SIGINT)
		if gap > 0 {
			time.Sleep(gap)
			cmd.Process.Signal(syscall.SIGINT)
		}
		err = cmd.Wait()
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("fit ended with %v after SIGINT\n%s", err, stderr.String())
		}
		if _, serr := os.Stat(out); serr == nil {
			t.Error("an interrupted fit wrote a model")
		}
		return exit.ExitCode(), stderr.String(), out
	}
	code, msg, _ := interrupt(0, 0)
	if code != 130 || !strings.Contains(msg, "interrupt received: stopping at the next safe point") ||
		!strings.Contains(msg, "padim: interrupted: stopped before finishing") || strings.Contains(msg, "context canceled") {
		t.Errorf("one SIGINT: exit %d, message:\n%s", code, msg)
	}
	t.Logf("one SIGINT, user sees:\n%s", msg)
	// The second signal must come while the fit is inside the backbone or
	// the Gaussian fit, which do not check the context (idle: from about
	// 1.5 s after start to its end at 6-8 s). Before that it decodes and
	// resizes the images, checking the context per image, and a busy
	// machine (CI runs the packages in parallel) stretched that past 1.8
	// s: the first signal then stops the fit at once, before the second
	// arrives. Such a run proves nothing about the second signal, so it is
	// tried again with the signals later.
	delays := []time.Duration{1500 * time.Millisecond, 3 * time.Second, 6 * time.Second, 12 * time.Second}
	for i, delay := range delays {
		code, msg, _ = interrupt(delay, 300*time.Millisecond)
		if code == 130 && strings.Contains(msg, "second interrupt: quitting now") {
			t.Logf("two SIGINTs (the first %v after start), user sees:\n%s", delay, msg)
			break
		}
		if code != 130 || !strings.Contains(msg, "padim: interrupted: stopped before finishing") {
			t.Fatalf("two SIGINTs (the first %v after start): exit %d, message:\n%s", delay, code, msg)
		}
		if i == len(delays)-1 {
			t.Fatalf("two SIGINTs: in every try the first one stopped the fit before the second came; last message:\n%s", msg)
		}
		t.Logf("two SIGINTs: the first, %v after start, stopped the fit at a safe point before the second came; trying later", delay)
	}
}

// pngHeader is a png signature and IHDR chunk declaring w x h 8-bit RGB,
// with no pixel data: enough for the header checks, which must refuse it
// before allocating anything.
func pngHeader(w, h int) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 8, 2
	binary.Write(&b, binary.BigEndian, uint32(13))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

// TestCLISizes (issue 14, 3): sizes from flags, model headers and image
// headers that cannot fit are clear errors before any work.
func TestCLISizes(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "m.padim")
	t.Run("--size beyond the pixel limit", func(t *testing.T) {
		c.t = t
		c.fails(c.fit(out, "--size", "100000x100000"), "size 100000x100000", "more than the limit")
		c.fails(c.fit(out, "--size", "20000x20000"), "size 20000x20000", "more than the limit")
	})
	t.Run("--size beyond the machine's memory", func(t *testing.T) {
		c.t = t
		c.fails(c.fit(out, "--size", "8000x8000"), "fit: this run would need at least", "backbone activations for 4 images of 8000x8000", "available (")
	})
	// A model whose (valid, checksummed) header asks for a huge input.
	huge := func(name string, h, w int) string {
		m, err := padim.ReadModel(c.model)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		m.Header.Preprocess = padim.PreprocessPolicy{Mode: "squash", Height: h, Width: w, Filter: m.Header.Preprocess.Filter}
		p := filepath.Join(dir, name)
		if err := m.WriteFile(p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, k := range []struct {
		name string
		h, w int
		want []string
	}{
		{"model header beyond the pixel limit", 100000, 100000, []string{"size 100000x100000", "more than the limit"}},
		{"model header beyond the machine's memory", 8000, 8000, []string{"test: this run would need at least", "the image size comes from the model "}},
		{"model header inconsistent with its arrays", 64, 96, []string{"the header's preprocessing gives 64x96 inputs, a 16x24 patch grid, but the model's arrays are for 56x56"}},
	} {
		t.Run(k.name, func(t *testing.T) {
			c.t = t
			model := huge(k.name+".padim", k.h, k.w)
			c.fails([]string{"test", "--model", model, "--weights", c.weights, "--data", c.data, "--category", "stripes"}, append(k.want, model)...)
		})
	}
	// A header's preprocessing mode is checked when the model is read: an
	// unknown one (hand-edited, checksum fixed) and the empty one (a model
	// fitted through the library without a policy) are errors naming the file.
	for _, k := range []struct {
		mode padim.PreprocessMode
		want string
	}{
		{"fill", `preprocess mode "fill": want one of crop, squash`},
		{"", "no preprocessing recorded"},
	} {
		t.Run(fmt.Sprintf("model header preprocess mode %q", k.mode), func(t *testing.T) {
			c.t = t
			b, err := os.ReadFile(c.model)
			if err != nil {
				t.Fatal(err)
			}
			b = bytes.Replace(b, []byte(`"mode":"crop"`), []byte(fmt.Sprintf("%-13s", `"mode":"`+k.mode+`"`)), 1)
			sum := sha256.Sum256(b[:len(b)-32])
			copy(b[len(b)-32:], sum[:])
			model := filepath.Join(dir, "mode"+string(k.mode)+".padim")
			if err := os.WriteFile(model, b, 0o644); err != nil {
				t.Fatal(err)
			}
			c.fails([]string{"test", "--model", model, "--weights", c.weights, "--data", c.data, "--category", "stripes"}, model, k.want)
		})
	}
	t.Run("image header beyond the pixel limit", func(t *testing.T) {
		c.t = t
		p := filepath.Join(c.data, "stripes", "train", "good", "huge.png")
		if err := os.WriteFile(p, pngHeader(13000, 13000), 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(p)
		c.fails(c.fit(out), p+": header declares 13000x13000 pixels, more than the limit")
		c.fails([]string{"predict", "--model", c.model, "--weights", c.weights, p, "--out", filepath.Join(dir, "pred")}, p, "13000x13000", "more than the limit")
	})
}

// TestCLIPredictOutputs (issue 14, 4): unique heatmap names whatever the
// inputs, and the files of a call appear as one set or not at all.
func TestCLIPredictOutputs(t *testing.T) {
	c := newCLI(t)
	src := filepath.Join(c.data, "stripes", "test", "good", "000.png")
	dir := t.TempDir()
	cp := func(rel string) string {
		p := filepath.Join(dir, "in", rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		b, _ := os.ReadFile(src)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	long := strings.Repeat("n", 246) + ".png" // a 250-byte name
	images := []string{cp("c/x_1.png"), cp("a/x.png"), cp("b/x.png"), cp("d/X.png"), cp(long)}
	out := filepath.Join(dir, "pred")
	c.ok(append([]string{"predict", "--model", c.model, "--weights", c.weights, "--threshold", "5", "--out", out}, images...)...)
	f, err := os.Open(filepath.Join(out, "scores.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) != len(images)+1 {
		t.Fatalf("scores.csv: %d rows (%v), want %d", len(rows), err, len(images)+1)
	}
	seen := map[string]bool{}
	for i, r := range rows[1:] {
		if r[0] != images[i] {
			t.Errorf("row %d is %s, want %s", i, r[0], images[i])
		}
		if seen[r[2]] {
			t.Errorf("heatmap %s named twice", r[2])
		}
		seen[r[2]] = true
		if st, err := os.Stat(r[2]); err != nil || st.Size() == 0 {
			t.Errorf("heatmap of %s: %v", r[0], err)
		}
		if len(filepath.Base(r[2])) > 255 {
			t.Errorf("heatmap name of %d bytes", len(filepath.Base(r[2])))
		}
	}
	if want := []string{"x_1_heatmap.png", "x_heatmap.png", "x_2_heatmap.png", "X_3_heatmap.png"}; !strings.HasSuffix(rows[4][2], want[3]) || !strings.HasSuffix(rows[3][2], want[2]) {
		t.Errorf("names %v, want %v", rows[1:], want)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("staging folder %s left behind", e.Name())
		}
	}

	// An output name taken by a directory: refused before any work, and
	// nothing of the set is written.
	out2 := filepath.Join(dir, "pred2")
	os.MkdirAll(filepath.Join(out2, "x_2_heatmap.png"), 0o755)
	c.t = t
	c.fails(append([]string{"predict", "--model", c.model, "--weights", c.weights, "--out", out2}, images...), filepath.Join(out2, "x_2_heatmap.png")+": is a directory")
	if got, _ := os.ReadDir(out2); len(got) != 1 {
		t.Errorf("%d entries in %s after a refused predict, want the 1 directory", len(got), out2)
	}
}

// TestCLIFlags (issue 14, 5 and 6): flags that were ignored or silently
// replaced are errors, before any work.
func TestCLIFlags(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "m.padim")
	img := filepath.Join(c.data, "stripes", "test", "good", "000.png")
	three := filepath.Join(dir, "three.txt")
	os.WriteFile(three, []byte("0\n5\n9\n"), 0o644)
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"--dims 0", c.fit(out, "--dims", "0"), []string{"--dims 0: want at least 1"}},
		{"--dims -3", c.fit(out, "--dims", "-3"), []string{"--dims -3"}},
		{"--channels with 3 lines and --dims 5", c.fit(out, "--channels", three, "--dims", "5"), []string{"--dims 5 but --channels " + three + " lists 3 channels"}},
		{"--dims beyond the channels", c.fit(out, "--dims", "500"), []string{"--dims 500 is more than the 448 channels"}},
		{"--layers deep to shallow", c.fit(out, "--layers", "layer3,layer1"), []string{"layers must go shallow to deep"}},
		{"--batch 0 (fit)", c.fit(out, "--batch", "0"), []string{"--batch 0"}},
		{"--batch 0 (test)", c.test("--batch", "0"), []string{"--batch 0"}},
		{"--threads -1", c.fit(out, "--threads", "-1"), []string{"--threads -1: want at least 1"}},
		{"--threshold NaN", []string{"predict", "--model", c.model, "--threshold", "NaN", img, "--out", filepath.Join(dir, "p")}, []string{"--threshold NaN"}},
		{"--threshold -5", []string{"predict", "--model", c.model, "--threshold", "-5", img, "--out", filepath.Join(dir, "p")}, []string{"--threshold -5"}},
		{"--threshold 0", []string{"predict", "--model", c.model, "--threshold", "0", img, "--out", filepath.Join(dir, "p")}, []string{"--threshold 0"}},
		{"test --size", c.test("--size", "64x64"), []string{"unknown flag: --size"}},
		{"--seed with --pca", c.fit(out, "--pca", "--seed", "5"), []string{"--seed only seeds the random channel draw"}},
		{"--mask-suffix without --masks", []string{"fit", "--format", "folder", "--normal", dir, "--mask-suffix", "_m.png", "--weights", c.weights, "--out", out},
			[]string{"--mask-suffix has no effect without --masks"}},
		{"--split-seed with --normal-test", []string{"fit", "--format", "folder", "--normal", dir, "--normal-test", dir, "--split-seed", "3", "--weights", c.weights, "--out", out},
			[]string{"--split-seed has no effect with --normal-test"}},
		{"folder flag with --format mvtec", c.fit(out, "--normal", dir), []string{"--normal applies to --format folder only"}},
		{"--format bogus", c.fit(out, "--format", "bogus"), []string{`--format "bogus": want one of mvtec, magnetic-tile, stc, folder`}},
		{"--normal-test with an explicit --test-fraction", []string{"fit", "--format", "folder", "--normal", dir, "--normal-test", dir, "--test-fraction", "0.3", "--weights", c.weights, "--out", out},
			[]string{"--normal-test and --test-fraction 0.3 exclude each other"}},
		{"reproduce --out FILE", []string{"reproduce", "--quick", "--out", three}, []string{three + ": is a regular file, not a directory"}},
		{"reproduce --only bogus", []string{"reproduce", "--quick", "--only", "bogus", "--out", filepath.Join(dir, "rep")}, []string{"bogus"}},
		{"reproduce --batch 0", []string{"reproduce", "--quick", "--batch", "0", "--out", filepath.Join(dir, "rep")}, []string{"--batch 0"}},
		{"generate --train 0", []string{"generate", "synthetic", "--train", "0", "--out", filepath.Join(dir, "g")}, []string{"--train 0"}},
	}
	// A wrong command line (a flag that does not exist, a malformed global
	// flag) exits with the usage status 2; everything else with 1.
	usage := map[string]bool{"--threads -1": true, "test --size": true}
	for _, k := range cases {
		t.Run(k.name, func(t *testing.T) {
			c.t = t
			code := exitError
			if usage[k.name] {
				code = exitUsage
			}
			c.failsWith(code, k.args, k.want...)
		})
	}
	c.t = t
	// reproduce refused its flags before generating the synthetic data.
	if _, err := os.Stat(filepath.Join(dir, "rep")); err == nil {
		t.Error("reproduce wrote its output folder before failing")
	}
	if entries, _ := os.ReadDir(c.cache); len(entries) > 0 {
		t.Errorf("reproduce filled the cache before failing: %v", entries)
	}

	// --help lists no flag that the command always refuses.
	help := c.ok("test", "--help").stdout
	for _, f := range []string{"--size", "--filter"} {
		if strings.Contains(help, f) {
			t.Errorf("test --help lists %s", f)
		}
	}
	if strings.Contains(c.ok("fetch", "mvtec", "--help").stdout, "--category") {
		t.Error("fetch mvtec --help lists --category, which is always refused")
	}
	c.fails([]string{"fetch", "mvtec", "--category", "bottle"}, "MVTec publishes no checksum for the bottle archive")

	// The folder format's --normal-test works with the default --test-fraction.
	st := filepath.Join(c.data, "stripes")
	r := c.ok("fit", "--format", "folder", "--normal", filepath.Join(st, "train", "good"), "--normal-test", filepath.Join(st, "test", "good"),
		"--abnormal", filepath.Join(st, "test", "scratch"), "--masks", filepath.Join(st, "ground_truth", "scratch"),
		"--weights", c.weights, "--dims", "10", "--out", out)
	if !strings.Contains(r.stdout, "on 3 training images") {
		t.Errorf("folder fit: %s", r.stdout)
	}
}

// TestCLIGenerateReplaces (issue 14, 5): generating into an earlier
// synthetic dataset replaces it whole; a folder that is not one is refused
// and left alone.
func TestCLIGenerateReplaces(t *testing.T) {
	dir := t.TempDir()
	c := &cli{t: t, bin: padimBinary(t), env: os.Environ()}
	out := filepath.Join(dir, "syn")
	count := func() (n int, sizes map[int]bool) {
		sizes = map[int]bool{}
		filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".png") {
				n++
				f, _ := os.Open(p)
				cfg, _ := png.DecodeConfig(f)
				f.Close()
				sizes[cfg.Width] = true
			}
			return nil
		})
		return n, sizes
	}
	c.ok("generate", "synthetic", "--out", out, "--categories", "stripes", "--size", "64", "--train", "6", "--test-good", "2", "--test-per-defect", "1")
	n1, _ := count()
	c.ok("generate", "synthetic", "--out", out, "--categories", "stripes", "--size", "32", "--train", "2", "--test-good", "1", "--test-per-defect", "1")
	n2, sizes := count()
	if n2 >= n1 || len(sizes) != 1 || !sizes[32] {
		t.Errorf("after regenerating: %d files (first generation %d), image widths %v: stale files remain", n2, n1, sizes)
	}
	user := filepath.Join(dir, "mine")
	os.MkdirAll(user, 0o755)
	note := filepath.Join(user, "notes.txt")
	os.WriteFile(note, []byte("keep"), 0o644)
	c.fails([]string{"generate", "synthetic", "--out", user, "--categories", "stripes", "--size", "32"}, "not empty and not a synthetic dataset", note)
	if b, _ := os.ReadFile(note); string(b) != "keep" {
		t.Error("the user's folder changed")
	}
}

// TestCLIMaskMessages (issue 14, 6): mask problems are found at validation,
// before any work, naming the files.
func TestCLIMaskMessages(t *testing.T) {
	c := newCLI(t)
	out := filepath.Join(t.TempDir(), "m.padim")
	good := filepath.Join(c.data, "stripes", "test", "good", "000.png")
	gm := filepath.Join(c.data, "stripes", "ground_truth", "good", "000_mask.png")
	os.MkdirAll(filepath.Dir(gm), 0o755)
	m := image.NewGray(image.Rect(0, 0, 64, 64))
	for i := range 100 {
		m.Pix[i] = 255
	}
	f, _ := os.Create(gm)
	png.Encode(f, m)
	f.Close()
	c.fails(c.fit(out), good+": image is labelled normal (good) but its mask "+gm+" marks 100 defect pixels")
	os.RemoveAll(filepath.Dir(gm))

	// Every anomalous mask blank.
	blank := image.NewGray(image.Rect(0, 0, 64, 64))
	filepath.WalkDir(filepath.Join(c.data, "stripes", "ground_truth"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			f, _ := os.Create(p)
			png.Encode(f, blank)
			f.Close()
		}
		return nil
	})
	c.fails(c.fit(out), "masks of anomalous images marks a defect pixel")
}
