package benchmark

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// anchor is a runtime the backbones are compared with. Each is timed by a
// child process (Python or node) that is optional: neither CI nor users
// need one, so a missing anchor is reported, not an error.
type anchor int

const (
	anchorORT   anchor = iota // ONNX Runtime (scripts/bench_ort_backbones.mjs)
	anchorTorch               // PyTorch (scripts/bench_torch_backbones.py)
	numAnchors
)

func (a anchor) String() string {
	if a == anchorORT {
		return "ONNX Runtime"
	}
	return "PyTorch"
}

// short is the anchor's name in table headers and progress lines.
func (a anchor) short() string {
	if a == anchorORT {
		return "ORT"
	}
	return "PyTorch"
}

// anchorState is what the report says about one anchor.
type anchorState struct {
	version string   // the runtime's version, "" until a run succeeded
	skipped string   // why it was not run or stopped; "" when it ran every round
	missing []string // backbones it has no model for (ONNX Runtime: not exported)
}

// anchorLine is one result line of a runner. Both runners print the same
// fields; the version sits under the runtime's own key.
type anchorLine struct {
	Backbone string  `json:"backbone"`
	Batch    int     `json:"batch"`
	Seconds  float64 `json:"seconds"` // median per batch
	Runs     int     `json:"runs"`
	Torch    string  `json:"torch"`
	ORT      string  `json:"onnxruntime"`
}

// anchorCmd is how RunBackbones starts an anchor's runner: the command
// line without the case arguments, and the backbones it can time.
type anchorCmd struct {
	argv      []string
	backbones []string
}

// torchCommand checks that the PyTorch runner can start. Whether torch
// imports shows only when it runs.
func torchCommand(o BackboneOptions) (anchorCmd, string) {
	switch {
	case o.NoTorch:
		return anchorCmd{}, "not run (--no-torch)"
	case !executable(o.Python):
		return anchorCmd{}, fmt.Sprintf("not run: no python at %s (--python)", o.Python)
	case !isFile(o.Script):
		return anchorCmd{}, fmt.Sprintf("not run: no %s (run from the repository root or set --torch-script)", o.Script)
	}
	return anchorCmd{argv: []string{o.Python, o.Script}, backbones: o.Backbones}, ""
}

// ortCommand checks node, the runner script, the onnxruntime-node package
// and the exported models. Backbones without a model are left out and
// returned as missing; the anchor is skipped when none has one.
func ortCommand(o BackboneOptions) (anchorCmd, string, []string) {
	if o.NoORT {
		return anchorCmd{}, "not run (--no-ort)", nil
	}
	node, err := exec.LookPath(o.Node)
	if err != nil {
		return anchorCmd{}, fmt.Sprintf("not run: no node (%v; --node)", err), nil
	}
	if !isFile(o.ORTScript) {
		return anchorCmd{}, fmt.Sprintf("not run: no %s (run from the repository root or set --ort-script)", o.ORTScript), nil
	}
	if pkg := filepath.Join(o.ORTDir, "node_modules", "onnxruntime-node", "package.json"); !isFile(pkg) {
		return anchorCmd{}, fmt.Sprintf("not run: no onnxruntime-node in %s (`npm install --ignore-scripts onnxruntime-node@1.20.1` there, see scripts/README.md; --ort-dir)", o.ORTDir), nil
	}
	var have, missing []string
	for _, b := range o.Backbones {
		if isFile(filepath.Join(o.ONNXDir, b+".onnx")) {
			have = append(have, b)
		} else {
			missing = append(missing, b)
		}
	}
	if len(have) == 0 {
		return anchorCmd{}, fmt.Sprintf("not run: no exported model in %s (run scripts/export_onnx.py; --onnx-dir)", o.ONNXDir), missing
	}
	return anchorCmd{argv: []string{node, o.ORTScript, "--ort-dir", o.ORTDir, "--models", o.ONNXDir}, backbones: have}, "", missing
}

func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

func executable(path string) bool {
	_, err := exec.LookPath(path)
	return err == nil
}

// runAnchor runs an anchor's runner once for c's backbones at o's sizes
// and merges its times into rows (a case keeps its faster time). It
// returns the runtime's version.
func runAnchor(ctx context.Context, stderr io.Writer, a anchor, c anchorCmd, o BackboneOptions, threads int, rows []backboneRow) (string, error) {
	batches := make([]string, len(o.Batches))
	for i, b := range o.Batches {
		batches[i] = strconv.Itoa(b)
	}
	args := append(slices.Clone(c.argv[1:]),
		"--threads", strconv.Itoa(threads), "--size", strconv.Itoa(o.Size),
		"--batches", strings.Join(batches, ","), "--min-time", strconv.FormatFloat(o.MinTime.Seconds(), 'f', -1, 64),
		"--min-runs", strconv.Itoa(o.MinRuns), "--backbones", strings.Join(c.backbones, ","))
	cmd := exec.CommandContext(ctx, c.argv[0], args...)
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	version, readErr := readAnchorLines(out, stderr, a, rows, c.backbones, o.Batches)
	if readErr != nil {
		_, _ = io.Copy(io.Discard, out) // let the child finish writing before Wait closes the pipe
	}
	if err := cmd.Wait(); err != nil {
		return version, fmt.Errorf("%s: %w: %s", strings.Join(c.argv, " "), err, strings.TrimSpace(lastLines(errBuf.String(), 3)))
	}
	if readErr != nil {
		return version, fmt.Errorf("%s: %w", strings.Join(c.argv, " "), readErr)
	}
	return version, nil
}

// readAnchorLines merges a runner's result lines into rows: each case of
// backbones x batches keeps its faster time. Lines not starting with "{"
// are skipped (torch prints warnings on stdout); a result that does not
// decode, is not positive, is for a case not asked, or a case without a
// result is an error. It returns the runtime's version.
func readAnchorLines(r io.Reader, stderr io.Writer, a anchor, rows []backboneRow, backbones []string, batches []int) (string, error) {
	version := ""
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if !bytes.HasPrefix(line, []byte("{")) {
			continue
		}
		var l anchorLine
		if err := json.Unmarshal(line, &l); err != nil {
			return version, fmt.Errorf("result line %q: %w", line, err)
		}
		if !(l.Seconds > 0) {
			return version, fmt.Errorf("result line %q: seconds must be positive", line)
		}
		i := slices.IndexFunc(rows, func(r backboneRow) bool { return r.backbone == l.Backbone && r.batch == l.Batch })
		if i < 0 || !slices.Contains(backbones, l.Backbone) || !slices.Contains(batches, l.Batch) {
			return version, fmt.Errorf("result line %q: a case that was not asked for", line)
		}
		version = l.Torch
		if a == anchorORT {
			version = l.ORT
		}
		t := time.Duration(l.Seconds * float64(time.Second))
		if old := rows[i].anchorTime[a]; old == 0 || t < old {
			rows[i].anchorTime[a] = t
		}
		seen[caseKey(l.Backbone, l.Batch)] = true
		fmt.Fprintf(stderr, "%-7s %-16s batch %d: %8.2f img/s (%d runs)\n", strings.ToLower(a.short()), l.Backbone, l.Batch, float64(l.Batch)/l.Seconds, l.Runs)
	}
	if err := sc.Err(); err != nil {
		return version, err
	}
	var absent []string
	for _, b := range backbones {
		for _, n := range batches {
			if !seen[caseKey(b, n)] {
				absent = append(absent, caseKey(b, n))
			}
		}
	}
	if len(absent) > 0 {
		return version, errors.New("printed no result for " + strings.Join(absent, ", "))
	}
	return version, nil
}

func caseKey(backbone string, batch int) string {
	return fmt.Sprintf("%s batch %d", backbone, batch)
}
