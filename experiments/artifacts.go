package experiments

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/padim-go/padim/datasets"
	"github.com/padim-go/padim/eval"
	"github.com/padim-go/padim/internal/atomicfile"
	"github.com/padim-go/padim/internal/chart"
)

// Curves is the plotting data a run leaves in curves.json.
type Curves struct {
	ROCFPR, ROCTPR           []float64 `json:",omitempty"` // image level
	PixelROCFPR, PixelROCTPR []float64 `json:",omitempty"`
	PROFPR, PRO              []float64 `json:",omitempty"`
}

// writeArtifacts stores the run's curves and a heatmap grid beside its result.
func writeArtifacts(dir string, s *Scored, m eval.Result, pre datasets.Preprocess, nImages int) ([]string, error) {
	var c Curves
	if fpr, tpr, _, err := eval.ROC(s.Scores, s.Labels); err == nil {
		c.ROCFPR, c.ROCTPR = thin(fpr, 400), thin(tpr, 400)
	}
	if s.Masks != nil {
		fpr, tpr, err := eval.PixelROC(s.Maps, s.Masks, 400)
		if err != nil {
			return nil, fmt.Errorf("pixel ROC: %w", err)
		}
		c.PixelROCFPR, c.PixelROCTPR = fpr, tpr
	}
	if m.PROCurve != nil {
		c.PROFPR, c.PRO = thinCurve(m.PROCurve.FPR, m.PROCurve.PRO, PROPlotLimit, 400)
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	arts := []string{"curves.json"}
	if err := atomicfile.WriteBytes(filepath.Join(dir, "curves.json"), b); err != nil {
		return nil, err
	}
	if nImages <= 0 {
		nImages = 4
	}
	panels, lo, hi, err := heatmapPanels(s, pre, nImages)
	if err != nil {
		return nil, err
	}
	if len(panels) > 0 {
		if err := (chart.HeatmapGrid{Panels: panels, Lo: lo, Hi: hi}).WritePNG(filepath.Join(dir, "heatmaps.png")); err != nil {
			return nil, err
		}
		arts = append(arts, "heatmaps.png")
	}
	return arts, nil
}

// PROPlotLimit is the FPR range the PRO curves are kept and plotted over.
const PROPlotLimit = 0.3

// thin keeps about n evenly spaced points of a curve, always the ends.
func thin(v []float64, n int) []float64 {
	if len(v) <= n {
		return v
	}
	out := make([]float64, 0, n+1)
	for i := 0; i < n; i++ {
		out = append(out, v[i*len(v)/n])
	}
	return append(out, v[len(v)-1])
}

func thinCurve(x, y []float64, xMax float64, n int) ([]float64, []float64) {
	k := len(x)
	for i, v := range x {
		if v > xMax {
			k = min(i+1, len(x))
			break
		}
	}
	return thin(x[:k], n), thin(y[:k], n)
}

// heatmapPanels picks the first anomalous images (one per defect type first)
// and one normal image, in test order, and draws them on a common scale
// spanning all test maps.
func heatmapPanels(s *Scored, pre datasets.Preprocess, n int) ([]chart.HeatmapPanel, float32, float32, error) {
	lo, hi := float32(0), float32(0)
	for i, m := range s.Maps {
		for j, v := range m {
			if (i == 0 && j == 0) || v < lo {
				lo = v
			}
			if (i == 0 && j == 0) || v > hi {
				hi = v
			}
		}
	}
	var pick []int
	seenDefect := map[string]bool{}
	for i, smp := range s.Samples {
		if smp.Label != 0 && !seenDefect[smp.Defect] && len(pick) < n-1 {
			seenDefect[smp.Defect] = true
			pick = append(pick, i)
		}
	}
	for i, smp := range s.Samples {
		if smp.Label != 0 && len(pick) < n-1 && !slices.Contains(pick, i) {
			pick = append(pick, i)
		}
	}
	for i, smp := range s.Samples {
		if smp.Label == 0 {
			pick = append(pick, i)
			break
		}
	}
	var panels []chart.HeatmapPanel
	for _, i := range pick {
		smp := s.Samples[i]
		rgb, err := pre.RGB(smp.Path)
		if err != nil {
			return nil, 0, 0, err
		}
		p := chart.HeatmapPanel{RGB: rgb.Pix, Map: s.Maps[i], H: s.H, W: s.W, Label: smp.Defect}
		if s.Masks != nil {
			p.Mask = s.Masks[i]
			if p.Mask == nil {
				p.Mask = make([]bool, s.H*s.W)
			}
		}
		if rgb.W != s.W || rgb.H != s.H {
			return nil, 0, 0, fmt.Errorf("%s: drawn image is %dx%d, map is %dx%d", smp.Path, rgb.W, rgb.H, s.W, s.H)
		}
		panels = append(panels, p)
	}
	return panels, lo, hi, nil
}
