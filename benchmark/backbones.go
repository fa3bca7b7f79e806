package benchmark

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/internal/nn"
	"github.com/padim-go/padim/internal/table"
	"github.com/padim-go/padim/internal/tensor"
)

// BackboneOptions configure RunBackbones.
type BackboneOptions struct {
	Backbones []string
	Batches   []int
	Size      int           // square input side
	MinTime   time.Duration // each case's timed runs last at least this long
	MinRuns   int           // and are at least this many
	Rounds    int           // alternating Go and PyTorch rounds
	Python    string        // python with torch and torchvision
	Script    string        // scripts/bench_torch_backbones.py
	NoTorch   bool
	NoConvs   bool   // skip the per-convolution table
	Out       string // Markdown report, written atomically; "" = stdout only
}

// backboneRow is one (backbone, batch) measurement.
type backboneRow struct {
	backbone   string
	upTo       string
	batch      int
	flopsImage float64       // conv FLOPs per image
	goTime     time.Duration // median per batch
	goRuns     int
	torchTime  time.Duration // median per batch; 0 when not measured
}

func (r backboneRow) goImagesPerSec() float64 {
	return float64(r.batch) / r.goTime.Seconds()
}

func (r backboneRow) goGFLOPs() float64 {
	return r.flopsImage * float64(r.batch) / r.goTime.Seconds() / 1e9
}

// backboneNet is one backbone under test, built once for all rounds.
type backboneNet struct {
	name, deepest string
	net           backbones.Backbone
	flops         float64 // conv FLOPs per image up to deepest
}

// RunBackbones times each backbone (zero weights: speed does not depend on
// them) from the input to its deepest PaDiM layer at each batch size,
// and each ungrouped ResNet convolution against the bare sgemm, in
// o.Rounds rounds alternating with PyTorch, and writes the report to
// stdout and o.Out. Progress goes to stderr.
func RunBackbones(ctx context.Context, stdout, stderr io.Writer, o BackboneOptions) error {
	if o.Size < 32 || len(o.Batches) == 0 || slices.ContainsFunc(o.Batches, func(b int) bool { return b < 1 }) {
		return fmt.Errorf("bench backbones: need --size >= 32 and positive --batches")
	}
	if o.Rounds < 1 {
		return fmt.Errorf("bench backbones: need --rounds >= 1")
	}
	nets := make([]backboneNet, len(o.Backbones))
	for i, name := range o.Backbones {
		spec, err := backbones.Lookup(name)
		if err != nil {
			return err
		}
		b, err := backbones.New(name)
		if err != nil {
			return err
		}
		deepest := spec.PaDiMLayers[len(spec.PaDiMLayers)-1]
		flops, err := backbones.ConvFLOPs(b, o.Size, o.Size, []string{deepest})
		if err != nil {
			return err
		}
		nets[i] = backboneNet{name: name, net: b, deepest: deepest, flops: flops}
	}
	var rows []backboneRow
	var convRows []convRow
	torchVersion := ""
	torchOK := !o.NoTorch
	for round := 1; round <= o.Rounds; round++ {
		fmt.Fprintf(stderr, "round %d of %d\n", round, o.Rounds)
		goRows, err := timeBackbones(ctx, stderr, o, nets)
		if err != nil {
			return err
		}
		rows = keepFastestRows(rows, goRows)
		if !o.NoConvs {
			cr, err := timeConvShapes(ctx, stderr, o.MinTime)
			if err != nil {
				return err
			}
			convRows = keepFastestConvs(convRows, cr)
		}
		if torchOK {
			v, err := timeTorchBackbones(ctx, stderr, o, rows)
			if err != nil {
				fmt.Fprintf(stderr, "bench backbones: PyTorch comparison skipped: %v\n", err)
				torchOK = false
			}
			torchVersion = v
		}
	}
	report, err := backboneReport(rows, backboneMeta{Machine: probeMachine(), torch: torchVersion, size: o.Size, rounds: o.Rounds})
	if err != nil {
		return err
	}
	convs, err := convReport(convRows, nn.Threads(), o.Rounds)
	if err != nil {
		return err
	}
	return writeReport(stdout, o.Out, report+convs)
}

// timeBackbones times every backbone at every batch size once.
func timeBackbones(ctx context.Context, stderr io.Writer, o BackboneOptions, nets []backboneNet) ([]backboneRow, error) {
	var rows []backboneRow
	for _, n := range nets {
		for _, batch := range o.Batches {
			x := tensor.New(batch, 3, o.Size, o.Size)
			for i := range x.Data {
				x.Data[i] = float32(i%251)/125 - 1
			}
			d, runs, err := timeRuns(ctx, o.MinTime, o.MinRuns, func() error {
				_, err := n.net.Forward(x, []string{n.deepest})
				return err
			})
			if err != nil {
				return nil, err
			}
			r := backboneRow{backbone: n.name, upTo: n.deepest, batch: batch, flopsImage: n.flops, goTime: d, goRuns: runs}
			fmt.Fprintf(stderr, "go    %-16s batch %d: %8.2f img/s %7.1f GFLOP/s (%d runs)\n", n.name, batch, r.goImagesPerSec(), r.goGFLOPs(), runs)
			rows = append(rows, r)
		}
	}
	return rows, nil
}

// torchBackboneLine is one line of bench_torch_backbones.py's output.
type torchBackboneLine struct {
	Backbone string  `json:"backbone"`
	Batch    int     `json:"batch"`
	Seconds  float64 `json:"seconds"`
	Runs     int     `json:"runs"`
	Torch    string  `json:"torch"`
}

// timeTorchBackbones runs the PyTorch script once for the same cases and
// sets rows[i].torchTime to its time when that is faster than the one
// held. It returns the torch version.
func timeTorchBackbones(ctx context.Context, stderr io.Writer, o BackboneOptions, rows []backboneRow) (string, error) {
	if _, err := os.Stat(o.Python); err != nil {
		return "", fmt.Errorf("no python at %s", o.Python)
	}
	if _, err := os.Stat(o.Script); err != nil {
		return "", fmt.Errorf("%s: %w (run from the repository root or set --torch-script)", o.Script, err)
	}
	batches := make([]string, len(o.Batches))
	for i, b := range o.Batches {
		batches[i] = strconv.Itoa(b)
	}
	cmd := exec.CommandContext(ctx, o.Python, o.Script,
		"--threads", strconv.Itoa(nn.Threads()), "--size", strconv.Itoa(o.Size),
		"--batches", strings.Join(batches, ","), "--min-time", strconv.FormatFloat(o.MinTime.Seconds(), 'f', -1, 64),
		"--min-runs", strconv.Itoa(o.MinRuns), "--backbones", strings.Join(o.Backbones, ","))
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	version := readTorchBackboneLines(out, stderr, rows)
	if err := cmd.Wait(); err != nil {
		return version, fmt.Errorf("%s %s: %w: %s", o.Python, o.Script, err, strings.TrimSpace(lastLines(errBuf.String(), 3)))
	}
	return version, nil
}

// readTorchBackboneLines merges the script's result lines into rows (a
// case keeps its faster PyTorch time) and returns the torch version. Lines
// that are not results are skipped: torch may print warnings on stdout.
func readTorchBackboneLines(r io.Reader, stderr io.Writer, rows []backboneRow) string {
	version := ""
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var l torchBackboneLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			continue
		}
		version = l.Torch
		for i := range rows {
			if rows[i].backbone == l.Backbone && rows[i].batch == l.Batch {
				if t := time.Duration(l.Seconds * float64(time.Second)); rows[i].torchTime == 0 || t < rows[i].torchTime {
					rows[i].torchTime = t
				}
				fmt.Fprintf(stderr, "torch %-16s batch %d: %8.2f img/s (%d runs)\n", l.Backbone, l.Batch, float64(l.Batch)/l.Seconds, l.Runs)
			}
		}
	}
	return version
}

// backboneMeta is what the throughput report states besides the rows.
type backboneMeta struct {
	Machine
	torch        string // torch version; "" when not run
	size, rounds int
}

// backboneReport renders the throughput table, sorted by backbone.
func backboneReport(rows []backboneRow, m backboneMeta) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "# Backbone throughput\n\n")
	fmt.Fprintf(&b, "Generated by `padim bench backbones` on %s.\n\n", m.Date)
	fmt.Fprintf(&b, "- input %dx%d, forward from the image to the deepest PaDiM layer (no head)\n", m.size, m.size)
	b.WriteString(m.bullets())
	if m.torch != "" {
		fmt.Fprintf(&b, "- PyTorch %s, torch.set_num_threads(%d), eval mode, torch.no_grad()\n", m.torch, m.Threads)
	} else {
		fmt.Fprintf(&b, "- PyTorch comparison not run\n")
	}
	fmt.Fprintf(&b, "- GFLOP counts convolutions only, two FLOPs per multiply-add\n")
	fmt.Fprintf(&b, "- times: the median of each case's timed runs, in %d rounds run alternately (Go, then PyTorch); each side's fastest round is shown, since the host's drift only slows a round down\n\n", m.rounds)
	t := table.Table{
		Header: []string{"backbone", "up to", "batch", "conv GFLOP/img", "Go img/s", "Go GFLOP/s", "PyTorch img/s", "Go / PyTorch"},
		Align:  []table.Align{table.Left, table.Left, table.Right, table.Right, table.Right, table.Right, table.Right, table.Right},
	}
	sorted := slices.Clone(rows)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].backbone < sorted[j].backbone })
	for _, r := range sorted {
		torchIPS, ratio := "-", "-"
		if r.torchTime > 0 {
			ips := float64(r.batch) / r.torchTime.Seconds()
			torchIPS = fmt.Sprintf("%.2f", ips)
			ratio = fmt.Sprintf("%.2fx", r.goImagesPerSec()/ips)
		}
		t.Append(r.backbone, r.upTo, strconv.Itoa(r.batch), fmt.Sprintf("%.2f", r.flopsImage/1e9),
			fmt.Sprintf("%.2f", r.goImagesPerSec()), fmt.Sprintf("%.1f", r.goGFLOPs()), torchIPS, ratio)
	}
	if err := t.Markdown(&b); err != nil {
		return "", err
	}
	return b.String(), nil
}

// writeReport prints report and, when path is set, writes it there
// atomically.
func writeReport(stdout io.Writer, path, report string) error {
	fmt.Fprint(stdout, report)
	if path == "" {
		return nil
	}
	return writeFileAtomic(path, []byte(report))
}
