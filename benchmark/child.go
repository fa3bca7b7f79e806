package benchmark

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/padim-go/padim/datasets"
)

// runJSONChild runs a command, passing its stderr through, and decodes the
// last JSON object line of its stdout into v.
func runJSONChild(ctx context.Context, stderr io.Writer, v any, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	var errBuf bytes.Buffer
	cmd.Stderr = io.MultiWriter(stderr, &errBuf)
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, lastLines(errBuf.String(), 3))
	}
	if err := decodeLastJSON(out, v); err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}

// decodeLastJSON decodes the last line of out that starts with "{" into v:
// a child may print other lines (warnings) before its result.
func decodeLastJSON(out []byte, v any) error {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], "{") {
			if err := json.Unmarshal([]byte(lines[i]), v); err != nil {
				return fmt.Errorf("result line %q: %w", lines[i], err)
			}
			return nil
		}
	}
	return fmt.Errorf("printed no JSON result")
}

// writeJSONLine prints v as the one JSON line a parent reads back.
func writeJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// fileList is what scripts/bench_torch_e2e.py reads: the exact files, in
// order, that the Go side used.
type fileList struct {
	Train []string    `json:"train"`
	Test  []fileImage `json:"test"`
}

type fileImage struct {
	Path  string `json:"path"`
	Mask  string `json:"mask,omitempty"`
	Label int    `json:"label"`
}

// writeFileList writes the first train training and test test images of
// split to a new temporary file in dir and returns its name.
func writeFileList(split *datasets.Split, train, test int, dir string) (string, error) {
	var l fileList
	for _, s := range split.Train[:train] {
		l.Train = append(l.Train, s.Path)
	}
	for _, s := range split.Test[:test] {
		l.Test = append(l.Test, fileImage{Path: s.Path, Mask: s.MaskPath, Label: s.Label})
	}
	b, err := json.Marshal(l)
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, "padim-bench-files-*.json")
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		return "", fmt.Errorf("%s: %w", f.Name(), err)
	}
	return f.Name(), f.Close()
}
