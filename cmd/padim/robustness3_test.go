package main

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/padim-go/padim/experiments"
)

// These tests continue robustness2_test.go with the cases of the second
// hostile-input sweep, through the real binary where the user would see it.

// bareCLI is a cli without weights or a fitted model, for the cases that
// are refused before either is needed.
func bareCLI(t *testing.T) *cli {
	t.Helper()
	dir := t.TempDir()
	return &cli{t: t, bin: padimBinary(t), cache: filepath.Join(dir, "cache"),
		env: append(os.Environ(), "PADIM_CACHE="+filepath.Join(dir, "cache"), "PADIM_DATA="+filepath.Join(dir, "no-data"))}
}

// TestCLIReproduceClusterFlags: reproduce's cluster flags that are out of
// range, or that would have no effect in the mode chosen, are refused before
// any work (they used to be ignored: --jobs 0 and --render alone ran the
// whole in-process reproduce). A task file that is a device or far too
// large is refused without being read (--task-file /dev/zero was killed by
// the kernel once it had eaten the memory).
func TestCLIReproduceClusterFlags(t *testing.T) {
	c := bareCLI(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "rep")
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.json")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(300 << 20); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	f.Close()
	rep := func(args ...string) []string {
		return append([]string{"reproduce", "--quick", "--only", "synthetic", "--out", out}, args...)
	}
	task := func(args ...string) []string { return append([]string{"reproduce"}, args...) }
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"--jobs 0", rep("--jobs", "0"), []string{"--jobs 0: want at least 1"}},
		{"--jobs -1", rep("--jobs", "-1"), []string{"--jobs -1: want at least 1"}},
		{"--max-parallel -1", rep("--slurm", "--max-parallel", "-1"), []string{"--max-parallel -1"}},
		{"--render alone", rep("--render"), []string{"--render needs --task-file"}},
		{"--task-index alone", rep("--task-index", "2"), []string{"--task-index needs --task-file"}},
		{"--task-file without an index", rep("--task-file", file), []string{"--task-file needs --task-index"}},
		{"--render with --task-index", rep("--task-file", file, "--render", "--task-index", "0"), []string{"drop --task-index"}},
		{"--partition without --slurm", rep("--partition", "cpu"), []string{"--partition applies to --slurm only"}},
		{"--sbatch-arg with --jobs", rep("--jobs", "2", "--sbatch-arg=--qos=low"), []string{"--sbatch-arg applies to --slurm only"}},
		{"--cpus-per-task with --plan", rep("--plan", "--cpus-per-task", "4"), []string{"--cpus-per-task applies to --slurm only"}},
		{"--state-dir in process", rep("--state-dir", dir), []string{"--state-dir applies to --slurm, --jobs K and --status only"}},
		{"--plan --batch 0", rep("--plan", "--batch", "0"), []string{"--batch 0"}},
		{"--jobs 2 --feature-cache-gb -1", rep("--jobs", "2", "--feature-cache-gb", "-1"), []string{"--feature-cache-gb -1"}},
		{"--jobs 2 --out FILE", append(rep("--jobs", "2"), "--out", file), []string{file + ": is a regular file, not a directory"}},
		{"--task-file /dev/zero", task("--task-file", "/dev/zero", "--task-index", "0"), []string{"/dev/zero: is a character device, not a regular file"}},
		{"--task-file FIFO", task("--task-file", mkfifo(t, filepath.Join(dir, "fifo")), "--task-index", "0"), []string{"fifo: is a named pipe"}},
		{"--task-file 300 MB", task("--task-file", big, "--task-index", "0"), []string{big + ": 314572800 bytes is too large for a task file"}},
		{"--task-file with run settings", rep("--task-file", file, "--task-index", "0", "--batch", "4"),
			[]string{"--task-file runs with the settings recorded in " + file + ", so --only, --quick, --batch would be ignored; drop --only --quick --batch"}},
		{"--task-file --render with --data", task("--task-file", file, "--render", "--data", dir), []string{"so --data would be ignored"}},
		{"--task-file task with --out", task("--task-file", file, "--task-index", "0", "--out", out), []string{"--out applies to --task-file with --render only"}},
		{"--feature-cache-gb beyond memory", rep("--feature-cache-gb", "1e12"), []string{"--feature-cache-gb 1e+12: the caches would hold up to", "is available"}},
		{"--feature-cache-gb beyond 2^63 bytes", rep("--slurm", "--feature-cache-gb", "1e12"), []string{"--feature-cache-gb 1e+12: more than 2^30 GB"}},
		{"--only twice", []string{"reproduce", "--quick", "--only", "synthetic,synthetic", "--out", out}, []string{`--only "synthetic,synthetic": table "synthetic" listed twice`}},
		{"--only twice with --plan", []string{"reproduce", "--quick", "--plan", "--only", "synthetic,synthetic"}, []string{`--only "synthetic,synthetic": table "synthetic" listed twice`}},
		{"--only with an empty entry", []string{"reproduce", "--quick", "--only", "synthetic,", "--out", out}, []string{`--only "synthetic,": table 2 of 2 is empty`}},
		{"generate a category twice", []string{"generate", "synthetic", "--categories", "stripes,stripes", "--out", out}, []string{`--categories "stripes,stripes": category "stripes" listed twice`}},
		{"generate an empty category", []string{"generate", "synthetic", "--categories", "stripes,,disc", "--out", out}, []string{`--categories "stripes,,disc": category 2 of 3 is empty`}},
		{"fit with an empty layer", []string{"fit", "--layers", "layer1,,layer3", "--data", dir, "--out", filepath.Join(dir, "m.padim")}, []string{`fit: --layers "layer1,,layer3": layer 2 of 3 is empty`}},
	}
	for _, k := range cases {
		t.Run(k.name, func(t *testing.T) {
			c.t = t
			c.fails(k.args, k.want...)
		})
	}
	c.t = t
	if _, err := os.Stat(out); err == nil {
		t.Error("reproduce wrote its output folder before failing")
	}
	// --plan writes nothing, so an --out it could not write is no error.
	if r := c.ok("reproduce", "--quick", "--only", "synthetic", "--plan", "--out", file); !strings.Contains(r.stdout, "synthetic") {
		t.Errorf("--plan printed no synthetic run:\n%s", r.stdout)
	}
	if entries, _ := os.ReadDir(c.cache); len(entries) > 0 {
		t.Errorf("reproduce filled the cache before failing: %v", entries)
	}
}

// TestCLIReproduceTaskFileLocations: with --task-file --render, --out and
// --cache replace the folders the task file records (they were ignored:
// the tables went to the file's folder), and are checked like everywhere.
func TestCLIReproduceTaskFileLocations(t *testing.T) {
	c := bareCLI(t)
	dir := t.TempDir()
	fileOut, fileCache := filepath.Join(dir, "file-out"), filepath.Join(dir, "file-cache")
	s := &taskSettings{Data: filepath.Join(dir, "no-data"), Cache: fileCache, Out: fileOut, Synthetic: filepath.Join(dir, "no-synthetic"),
		SyntheticCategories: []string{"stripes"}, WeightsDirs: []string{filepath.Join(dir, "no-weights")}, Only: []string{"synthetic"}, Quick: true, Batch: 8}
	tf := filepath.Join(dir, "tasks.json")
	if err := experiments.WriteTaskFile(tf, &experiments.TaskFile{Created: time.Now().UTC(), Settings: settingsJSON(s), Tables: []string{"synthetic"}}); err != nil {
		t.Fatal(err)
	}
	out, cache := filepath.Join(dir, "out"), filepath.Join(dir, "cache")
	r := c.ok("reproduce", "--task-file", tf, "--render", "--out", out, "--cache", cache)
	if !strings.Contains(r.stdout, filepath.Join(out, "synthetic.md")) {
		t.Errorf("render did not report writing into --out %s:\n%s", out, r.stdout)
	}
	if _, err := os.Stat(filepath.Join(out, "synthetic.md")); err != nil {
		t.Errorf("--out was not used: %v", err)
	}
	for _, d := range []string{fileOut, fileCache} {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("the task file's folder %s was written, though --out and --cache were given", d)
		}
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.fails([]string{"reproduce", "--task-file", tf, "--render", "--out", file}, "reproduce: --out "+file+": is a regular file, not a directory")
	c.fails([]string{"reproduce", "--task-file", tf, "--task-index", "0", "--cache", file}, "reproduce: --cache "+file+": is a regular file, not a directory")
}

// flagRef is a --flag written in help text or an example.
var flagRef = regexp.MustCompile(`(?:^|[\s\[(|,=])--([a-z][a-z0-9-]*)`)

// TestHelpMatchesFlags walks every command: its --help lists each of its
// visible flags, and every --flag its help text or examples mention exists
// (on it, or on the command a `padim CMD ...` example line runs). The
// README's `padim ...` command lines are checked the same way.
func TestHelpMatchesFlags(t *testing.T) {
	var cmds []*cobra.Command
	walk(rootCmd, func(c *cobra.Command) { cmds = append(cmds, c) })
	for _, c := range cmds {
		if c.Hidden || strings.HasPrefix(c.CommandPath(), "padim completion") || c.Name() == "help" {
			continue
		}
		var help strings.Builder
		c.SetOut(&help)
		if err := c.Help(); err != nil {
			t.Fatal(err)
		}
		c.SetOut(nil)
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if !f.Hidden && !strings.Contains(help.String(), "--"+f.Name+" ") {
				t.Errorf("%s --help does not list --%s", c.CommandPath(), f.Name)
			}
		})
		checkFlagRefs(t, c.CommandPath()+" help", c, c.Long)
		checkFlagRefs(t, c.CommandPath()+" usage", c, c.Use)
		for _, line := range commandLines(c.Example) {
			checkCommandLine(t, c.CommandPath()+" example", line)
		}
	}
	if !strings.Contains(helpOf(t, "reproduce"), "--task-file FILE --task-index I") {
		t.Error("reproduce --help does not explain --task-file and --task-index")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range commandLines(string(readme)) {
		checkCommandLine(t, "README.md", line)
		n++
	}
	if n < 10 {
		t.Errorf("found only %d padim command lines in README.md", n)
	}
}

func helpOf(t *testing.T, name string) string {
	t.Helper()
	c, _, err := rootCmd.Find([]string{name})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	c.SetOut(&b)
	defer c.SetOut(nil)
	if err := c.Help(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// commandLines returns the `padim ...` command lines of a text, with
// backslash continuations joined, from the first "padim " on the line.
func commandLines(text string) []string {
	var lines []string
	var cur string
	for _, l := range strings.Split(text, "\n") {
		if cur != "" {
			cur += " " + strings.TrimSpace(l)
		} else if i := strings.Index(l, "padim "); i >= 0 && (i == 0 || strings.ContainsAny(l[i-1:i], " `$(")) {
			cur = l[i:]
		} else {
			continue
		}
		if strings.HasSuffix(cur, "\\") {
			cur = strings.TrimSuffix(cur, "\\")
			continue
		}
		lines = append(lines, cur)
		cur = ""
	}
	return lines
}

// checkCommandLine resolves the command a `padim ...` line runs and checks
// that each --flag on it exists there. Lines whose words after padim are
// not a command (prose such as "padim fits ...") are skipped.
func checkCommandLine(t *testing.T, where, line string) {
	t.Helper()
	if i := strings.IndexAny(line, "`#;|&"); i >= 0 {
		line = line[:i]
	}
	words := strings.Fields(line)[1:]
	c, rest, err := rootCmd.Find(words)
	if err != nil || c == rootCmd && (len(words) == 0 || !strings.HasPrefix(words[0], "-")) {
		return
	}
	checkFlagRefs(t, where+": "+line, c, strings.Join(rest, " "))
}

func checkFlagRefs(t *testing.T, where string, c *cobra.Command, text string) {
	t.Helper()
	for _, m := range flagRef.FindAllStringSubmatch(text, -1) {
		name := m[1]
		if name == "help" {
			continue
		}
		// --sbatch-arg=--qos=low passes an sbatch option through.
		if strings.Contains(text, "--sbatch-arg=--"+name) {
			continue
		}
		if !hasFlag(c, name) {
			t.Errorf("%s: --%s is not a flag of %s", where, name, c.CommandPath())
		}
	}
}

// hasFlag reports whether c, or a command under it (a parent's help may
// describe its subcommands' flags), has the flag.
func hasFlag(c *cobra.Command, name string) bool {
	if c.Flags().Lookup(name) != nil || c.InheritedFlags().Lookup(name) != nil {
		return true
	}
	for _, sub := range c.Commands() {
		if hasFlag(sub, name) {
			return true
		}
	}
	return false
}

// TestCLITestOneClass: a test set of normal images only (or anomalous
// only) has no image AUROC. padim test says so before any image is scored,
// naming the test folders; it used to score every image and then fail
// with eval's "only one class present".
func TestCLITestOneClass(t *testing.T) {
	c := newCLI(t)
	for _, k := range []struct {
		name, keep, missing string
		normal, anomalous   string
	}{
		{"only normal", "good", "anomalous", "2 normal", "0 anomalous"},
		{"only anomalous", "scratch", "normal", "0 normal", "anomalous images"},
	} {
		t.Run(k.name, func(t *testing.T) {
			c.t = t
			root := filepath.Join(t.TempDir(), "data")
			if err := os.CopyFS(root, os.DirFS(c.data)); err != nil {
				t.Fatal(err)
			}
			testDir := filepath.Join(root, "stripes", "test")
			entries, err := os.ReadDir(testDir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if e.Name() != k.keep { // the defect's images and masks
					os.RemoveAll(filepath.Join(testDir, e.Name()))
					os.RemoveAll(filepath.Join(root, "stripes", "ground_truth", e.Name()))
				}
			}
			json := filepath.Join(t.TempDir(), "r.json")
			c.fails([]string{"test", "--model", c.model, "--weights", c.weights, "--data", root, "--category", "stripes", "--json", json},
				filepath.Join(testDir, k.keep), k.normal, k.anomalous, "image AUROC is undefined without "+k.missing+" test images")
			if _, err := os.Stat(json); err == nil {
				t.Error("--json written for a failed test")
			}
		})
	}
}

// TestCLIFeaturesAllOrNothing: the layer files of one `padim features`
// call appear together or not at all. A write that fails part-way (here
// the second layer exceeds a file size limit, as on a full disk) used to
// leave the first layer of the new image beside the other layers of an
// earlier call. A layer listed twice is refused (it was written twice).
func TestCLIFeaturesAllOrNothing(t *testing.T) {
	c := bareCLI(t)
	c.weights = resnet18Weights(t)
	data := tinySynthetic(t, []string{"stripes"}, 2)
	imgA := filepath.Join(data, "stripes", "test", "good", "000.png")
	imgB := filepath.Join(data, "stripes", "test", "good", "001.png")
	dir := t.TempDir()
	out := filepath.Join(dir, "feats")
	// layer3 is 200 KB and layer1 800 KB for a 224x224 input.
	args := func(img string) []string {
		return []string{"features", "--weights", c.weights, "--layers", "layer3,layer1", img, "--out", out}
	}
	c.ok(args(imgA)...)
	before := map[string][32]byte{}
	for _, l := range []string{"layer1", "layer3"} {
		before[l] = fileSum(t, filepath.Join(out, l+".npy"))
	}

	// sh's ulimit -f counts 512-byte blocks: 250 KB lets layer3 through.
	cmd := exec.Command("sh", "-c", `ulimit -f 500 && exec "$@"`, "sh", c.bin)
	cmd.Args = append(cmd.Args, args(imgB)...)
	cmd.Env = c.env
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err == nil {
		t.Fatalf("features under a 250 KB file size limit succeeded:\n%s", stdout.String())
	}
	if !strings.Contains(stderr.String(), "layer1.npy") || !strings.Contains(stderr.String(), "file too large") {
		t.Errorf("message does not name the layer file and the cause: %q", stderr.String())
	}
	if strings.Contains(stdout.String(), "->") {
		t.Errorf("features reported a layer as written: %q", stdout.String())
	}
	for l, sum := range before {
		if fileSum(t, filepath.Join(out, l+".npy")) != sum {
			t.Errorf("%s.npy changed by the failed call: the layers now mix two images", l)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the failed call left files beside --out: %v", entries)
	}

	c.fails([]string{"features", "--weights", c.weights, "--layers", "layer2,layer2", imgA, "--out", out}, `layer "layer2" listed twice`)
	c.fails([]string{"features", "--weights", c.weights, "--layers", ",", imgA, "--out", out}, `--layers ",": layer 1 of 2 is empty`)
}

// TestCLISecondInterruptRemovesTemporaries: a second Ctrl-C while fit is
// writing its model (100 MB here, so the write takes a while) ends the
// process at once, and the half-written model's hidden temporary file is
// removed instead of left beside --out; an earlier model at --out is kept.
func TestCLISecondInterruptRemovesTemporaries(t *testing.T) {
	c := bareCLI(t)
	c.weights = resnet18Weights(t)
	data := tinySynthetic(t, []string{"stripes"}, 4)
	dir := t.TempDir()
	out := filepath.Join(dir, "m.padim")
	if err := os.WriteFile(out, []byte("earlier model"), 0o644); err != nil {
		t.Fatal(err)
	}
	temporary := func() string {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".m.padim.tmp-") {
				return e.Name()
			}
		}
		return ""
	}
	// The signals must land while the temporary exists: a loaded machine
	// may finish the write first, so up to 5 attempts.
	for attempt := 1; attempt <= 5; attempt++ {
		cmd := exec.Command(c.bin, "fit", "--data", data, "--category", "stripes", "--weights", c.weights,
			"--size", "64x64", "--dims", "448", "--out", out)
		cmd.Env = c.env
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var err error
		seen := ""
	poll:
		for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
			select {
			case err = <-done:
				break poll
			default:
			}
			if seen = temporary(); seen != "" {
				cmd.Process.Signal(syscall.SIGINT)
				time.Sleep(20 * time.Millisecond)
				cmd.Process.Signal(syscall.SIGINT)
				err = <-done
				break
			}
		}
		if seen == "" && cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-done
			t.Fatal("fit still running after 2 minutes without writing its model")
		}
		if b, _ := os.ReadFile(out); string(b) != "earlier model" {
			if err == nil {
				t.Logf("attempt %d: the write finished before the second signal; again", attempt)
				if werr := os.WriteFile(out, []byte("earlier model"), 0o644); werr != nil {
					t.Fatal(werr)
				}
				continue
			}
			t.Fatalf("--out changed by an interrupted fit (%v)\n%s", err, stderr.String())
		}
		if seen == "" {
			t.Fatalf("no temporary model file appeared: %v\n%s", err, stderr.String())
		}
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 130 || !strings.Contains(stderr.String(), "second interrupt: quitting now") {
			t.Fatalf("two SIGINTs during the write: %v\n%s", err, stderr.String())
		}
		if left := temporary(); left != "" {
			t.Fatalf("the half-written model %s was left beside --out", left)
		}
		t.Logf("user sees:\n%s", stderr.String())
		return
	}
	t.Fatal("in 5 attempts the signals never landed during the model write")
}

// TestCLIGroupCommandsAndBenchOutputs: an unknown subcommand of a command
// that only groups others is a usage error (exit 2), as it is for padim
// itself; cobra printed the group's help and exited 0. A bench report path
// that cannot be written is refused before the benchmark runs (it was found
// after minutes of timing).
func TestCLIGroupCommandsAndBenchOutputs(t *testing.T) {
	c := bareCLI(t)
	for _, group := range []string{"fetch", "generate", "bench", "completion"} {
		c.failsWith(exitUsage, []string{group, "bogus"}, `unknown command "bogus" for "padim `+group+`"`)
		if r := c.ok(group); !strings.Contains(r.stdout, "Available Commands:") {
			t.Errorf("padim %s without arguments does not show its help:\n%s", group, r.stdout)
		}
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.fails([]string{"bench", "backbones", "--out", dir}, dir+": is a directory")
	c.fails([]string{"bench", "end-to-end", "--out", filepath.Join(file, "bench.md")}, file+" is a regular file, not a directory")
	c.fails([]string{"bench", "memory", "--out", filepath.Join(file, "memory")}, file+" is a regular file, not a directory")
	c.fails([]string{"bench", "memory", "--out="}, "--out is empty")
}

// TestCLIDataIsAFile: a file where a dataset folder is expected is named as
// such before any work; it was reported as a missing subfolder (`open
// FILE/MT_Free/Imgs: not a directory`).
func TestCLIDataIsAFile(t *testing.T) {
	c := bareCLI(t)
	c.weights = resnet18Weights(t)
	data := tinySynthetic(t, []string{"stripes"}, 2)
	file := filepath.Join(t.TempDir(), "model.padim")
	if err := os.WriteFile(file, []byte("not a folder"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "m.padim")
	fit := func(args ...string) []string {
		return append(append([]string{"fit"}, args...), "--weights", c.weights, "--dims", "10", "--out", out)
	}
	c.fails(fit("--data", file, "--category", "stripes"), "--data "+file+": is a regular file, not a folder")
	c.fails(fit("--format", "magnetic-tile", "--data", file), "--data "+file+": is a regular file, not a folder")
	c.fails(fit("--format", "stc", "--data", "/dev/null"), "--data /dev/null: is a character device, not a folder")
	c.fails(fit("--format", "folder", "--normal", file), "--normal "+file+": is a regular file, not a folder")
	c.fails(fit("--format", "folder", "--normal", filepath.Join(data, "stripes", "train", "good"),
		"--abnormal", filepath.Join(data, "stripes", "test", "spot"), "--masks", file), "--masks "+file+": is a regular file, not a folder")
	c.fails([]string{"test", "--model", file, "--data", file, "--category", "stripes"}, "--data "+file+": is a regular file, not a folder")
	if _, err := os.Stat(out); err == nil {
		t.Error("a model was written")
	}
}

// TestCLIElongatedImages: a 100000x1 image, which resize-and-crop would
// make 25600000x256 before cropping (the command ran for minutes and took
// gigabytes), is refused: by fit and test from its header before any work,
// by predict when it is decoded; squash mode (--size) takes it. test checks
// only the images it scores: the same image among the training images,
// which test never reads, does not stop it (it used to).
func TestCLIElongatedImages(t *testing.T) {
	c := newCLI(t)
	long := filepath.Join(t.TempDir(), "long.png")
	img := image.NewGray(image.Rect(0, 0, 100000, 1))
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(long, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(t.TempDir(), "data")
	if err := os.CopyFS(root, os.DirFS(c.data)); err != nil {
		t.Fatal(err)
	}
	inTrain := filepath.Join(root, "stripes", "train", "good", "099.png")
	copyFile(t, long, inTrain)
	out := filepath.Join(t.TempDir(), "m.padim")
	want := "a 100000x1 image resized to 256 on its shorter side is 25600000x256"
	c.fails([]string{"fit", "--data", root, "--category", "stripes", "--weights", c.weights, "--dims", "10", "--out", out}, inTrain, want)
	test := []string{"test", "--model", c.model, "--weights", c.weights, "--data", root, "--category", "stripes"}
	if r := c.ok(test...); !strings.Contains(r.stdout, "image AUROC") {
		t.Errorf("test with an elongated training image printed no metrics:\n%s", r.stdout)
	}
	inTest := filepath.Join(root, "stripes", "test", "good", "099.png")
	copyFile(t, long, inTest)
	c.fails(test, inTest, want, "comes from the model")
	if err := os.Remove(inTest); err != nil {
		t.Fatal(err)
	}
	c.ok("fit", "--data", root, "--category", "stripes", "--weights", c.weights, "--dims", "10", "--size", "64x64", "--out", out)
	r := c.run("predict", "--model", c.model, "--weights", c.weights, long, "--out", filepath.Join(t.TempDir(), "p"))
	if r.code != exitError || !strings.Contains(r.stderr, long+": "+want) {
		t.Errorf("predict on a 100000x1 image: exit %d\n%s", r.code, r.stderr)
	}
}

// TestCLIReadOnlyOutput: an output in a folder that takes no new files (a
// read-only mount) is refused before any work; fit used to compute the
// whole model and fail at the final write.
func TestCLIReadOnlyOutput(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a read-only tmpfs (permissions do not bind root, a read-only mount does)")
	}
	c := newCLI(t)
	ro := t.TempDir()
	if err := syscall.Mount("tmpfs", ro, "tmpfs", syscall.MS_RDONLY, "size=64k"); err != nil {
		t.Skipf("mount: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(ro, 0) })
	want := "cannot be written: folder " + ro + " does not take new files"
	c.fails(c.fit(filepath.Join(ro, "m.padim")), want)
	c.fails(c.test("--json", filepath.Join(ro, "r.json")), want)
	c.fails([]string{"predict", "--model", c.model, "--weights", c.weights,
		filepath.Join(c.data, "stripes", "test", "good", "000.png"), "--out", filepath.Join(ro, "pred")}, want)
}

// TestCLIThreadsLimit: --threads beyond 8 per CPU (at least 256) is a
// usage error: each thread is a worker with its own buffers (--threads
// 400000 took 1.3 GB and 10 s for a 4-image fit), and beyond 2^31 the
// count wrapped round to the default.
func TestCLIThreadsLimit(t *testing.T) {
	c := bareCLI(t)
	limit := maxThreads()
	for _, n := range []int{limit + 1, 100000, 3000000000} {
		c.failsWith(exitUsage, []string{"version", "--threads", fmt.Sprint(n)}, fmt.Sprintf("--threads %d: more than %d", n, limit))
	}
	if r := c.ok("version", "--threads", fmt.Sprint(limit)); !strings.Contains(r.stdout, fmt.Sprintf("%d threads", limit)) {
		t.Errorf("version --threads %d:\n%s", limit, r.stdout)
	}
}
