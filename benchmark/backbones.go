package benchmark

import (
	"context"
	"fmt"
	"io"
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
	Rounds    int           // alternating rounds of Go and the anchors
	Python    string        // python with torch and torchvision
	Script    string        // scripts/bench_torch_backbones.py
	NoTorch   bool
	Node      string // node, looked up in PATH unless a path
	ORTScript string // scripts/bench_ort_backbones.mjs
	ORTDir    string // folder holding node_modules/onnxruntime-node
	ONNXDir   string // models exported by scripts/export_onnx.py: <backbone>.onnx
	NoORT     bool
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
	anchorTime [numAnchors]time.Duration // median per batch; 0 when not measured
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
// the machine's sgemm roof, and each ungrouped ResNet convolution against
// the bare sgemm, in o.Rounds rounds alternating with the anchors (ONNX
// Runtime, PyTorch) that are present, and writes the report to stdout and
// o.Out. An anchor that is missing or fails is named in the report and the
// rest is still measured. Progress goes to stderr.
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
	var cmds [numAnchors]anchorCmd
	var states [numAnchors]anchorState
	cmds[anchorORT], states[anchorORT].skipped, states[anchorORT].missing = ortCommand(o)
	cmds[anchorTorch], states[anchorTorch].skipped = torchCommand(o)
	for a := range numAnchors {
		if s := states[a].skipped; s != "" {
			fmt.Fprintf(stderr, "bench backbones: %s comparison %s\n", a, s)
		} else if m := states[a].missing; len(m) > 0 {
			fmt.Fprintf(stderr, "bench backbones: %s: no model for %s\n", a, strings.Join(m, ", "))
		}
	}
	var rows []backboneRow
	var convRows []convRow
	roof := 0.0
	for round := 1; round <= o.Rounds; round++ {
		fmt.Fprintf(stderr, "round %d of %d\n", round, o.Rounds)
		goRows, err := timeBackbones(ctx, stderr, o, nets)
		if err != nil {
			return err
		}
		rows = keepFastestRows(rows, goRows)
		r, err := timeSgemmRoof(ctx, o.MinTime, nn.Threads())
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "sgemm roof (%d^3, %d threads): %.1f GFLOP/s\n", roofSize, nn.Threads(), r)
		roof = max(roof, r)
		if !o.NoConvs {
			cr, err := timeConvShapes(ctx, stderr, o.MinTime)
			if err != nil {
				return err
			}
			convRows = keepFastestConvs(convRows, cr)
		}
		for a := range numAnchors {
			if states[a].skipped != "" {
				continue
			}
			v, err := runAnchor(ctx, stderr, a, cmds[a], o, nn.Threads(), rows)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err != nil {
				states[a].skipped = fmt.Sprintf("stopped in round %d: %v", round, err)
				fmt.Fprintf(stderr, "bench backbones: %s comparison %s\n", a, states[a].skipped)
				continue
			}
			states[a].version = v
		}
	}
	report, err := backboneReport(rows, backboneMeta{Machine: probeMachine(), anchors: states, roof: roof, size: o.Size, rounds: o.Rounds, onnxDir: o.ONNXDir})
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

// backboneMeta is what the throughput report states besides the rows.
type backboneMeta struct {
	Machine
	anchors      [numAnchors]anchorState
	roof         float64 // sgemm GFLOP/s; 0 when not measured
	size, rounds int
	onnxDir      string
}

// anchorBullets say which runtime and settings each anchor ran with, or
// plainly that it did not run and why, and which backbones it lacks.
func (m backboneMeta) anchorBullets() string {
	var b strings.Builder
	for a := range numAnchors {
		s := m.anchors[a]
		if s.version != "" {
			switch a {
			case anchorORT:
				fmt.Fprintf(&b, "- ONNX Runtime %s (npm onnxruntime-node, CPU execution provider, `scripts/bench_ort_backbones.mjs`): intra-op threads %d, sequential execution, graph optimisation \"all\"; models exported by `scripts/export_onnx.py` (torchvision, opset 13, constant folding) from %s\n", s.version, m.Threads, m.onnxDir)
			case anchorTorch:
				fmt.Fprintf(&b, "- PyTorch %s (`scripts/bench_torch_backbones.py`), torch.set_num_threads(%d), eval mode, torch.no_grad()\n", s.version, m.Threads)
			}
		}
		if s.skipped != "" {
			fmt.Fprintf(&b, "- **%s comparison %s**\n", a, s.skipped)
		}
		if len(s.missing) > 0 && s.version != "" {
			fmt.Fprintf(&b, "- **%s: no exported model for %s** (run `scripts/export_onnx.py`); its cells are -\n", a, strings.Join(s.missing, ", "))
		}
	}
	return b.String()
}

// backboneReport renders the throughput table, sorted by backbone. An
// anchor that did not time a case shows - in its cells.
func backboneReport(rows []backboneRow, m backboneMeta) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "# Backbone throughput\n\n")
	fmt.Fprintf(&b, "Generated by `padim bench backbones` on %s.\n\n", m.Date)
	fmt.Fprintf(&b, "- input %dx%d, forward from the image to the deepest PaDiM layer (no head)\n", m.size, m.size)
	b.WriteString(m.bullets())
	b.WriteString(m.anchorBullets())
	fmt.Fprintf(&b, "- GFLOP counts convolutions only, two FLOPs per multiply-add\n")
	gflopHeader := "GFLOP/s"
	if m.roof > 0 {
		gflopHeader = "GFLOP/s (% of roof)"
		fmt.Fprintf(&b, "- sgemm roof: %.1f GFLOP/s, one %dx%dx%d sgemm through internal/blas (%s, %d threads), the fastest round's median; achieved GFLOP/s are given with their share of it\n",
			m.roof, roofSize, roofSize, roofSize, m.BLAS, m.Threads)
	}
	rounds := fmt.Sprintf("in %d rounds run alternately (Go, then ONNX Runtime, then PyTorch); each side's fastest round is shown, since the host's drift only slows a round down", m.rounds)
	if m.rounds == 1 {
		rounds = "in 1 round (Go, then ONNX Runtime, then PyTorch); more rounds (--rounds) keep each side's fastest, since the host's drift only slows a round down"
	}
	fmt.Fprintf(&b, "- times: the median of each case's timed runs, %s\n", rounds)
	fmt.Fprintf(&b, "- Go / X is Go's images/s over X's: above 1x Go is faster\n\n")
	header := []string{"backbone", "up to", "batch", "conv GFLOP/img", "Go img/s"}
	for a := range numAnchors {
		header = append(header, a.short()+" img/s")
	}
	for a := range numAnchors {
		header = append(header, "Go / "+a.short())
	}
	header = append(header, "Go "+gflopHeader)
	for a := range numAnchors {
		header = append(header, a.short()+" "+gflopHeader)
	}
	align := make([]table.Align, len(header))
	for i := range align {
		align[i] = table.Right
	}
	align[0], align[1] = table.Left, table.Left
	t := table.Table{Header: header, Align: align}
	gflops := func(rate float64) string {
		if m.roof > 0 {
			return fmt.Sprintf("%.1f (%.0f%%)", rate, 100*rate/m.roof)
		}
		return fmt.Sprintf("%.1f", rate)
	}
	sorted := slices.Clone(rows)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].backbone < sorted[j].backbone })
	for _, r := range sorted {
		var ips, ratios, rates []string
		for a := range numAnchors {
			d := r.anchorTime[a]
			if d <= 0 {
				ips, ratios, rates = append(ips, "-"), append(ratios, "-"), append(rates, "-")
				continue
			}
			x := float64(r.batch) / d.Seconds()
			ips = append(ips, fmt.Sprintf("%.2f", x))
			ratios = append(ratios, fmt.Sprintf("%.2fx", r.goImagesPerSec()/x))
			rates = append(rates, gflops(r.flopsImage*x/1e9))
		}
		cells := []string{r.backbone, r.upTo, strconv.Itoa(r.batch), fmt.Sprintf("%.2f", r.flopsImage/1e9), fmt.Sprintf("%.2f", r.goImagesPerSec())}
		cells = append(append(append(append(cells, ips...), ratios...), gflops(r.goGFLOPs())), rates...)
		t.Append(cells...)
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
