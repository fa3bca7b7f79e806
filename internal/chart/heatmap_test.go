package chart

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// panel is an h x w panel of one colour whose map rises left to right
// from 0 to 1.
func panel(h, w int, rgb [3]uint8, mask bool, label string) HeatmapPanel {
	p := HeatmapPanel{RGB: make([]uint8, h*w*3), Map: make([]float32, h*w), H: h, W: w, Label: label}
	if mask {
		p.Mask = make([]bool, h*w)
	}
	for i := 0; i < h*w; i++ {
		copy(p.RGB[3*i:], rgb[:])
		p.Map[i] = float32(i%w) / float32(w-1)
		if mask && i%w < w/2 {
			p.Mask[i] = true
		}
	}
	return p
}

func decode(t *testing.T, path string) image.Image {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestHeatmapGridLayout: the grid has a ground-truth column only when a
// panel has a mask; the image column holds the image, the mask column the
// mask, and the map column the map's colour (blue at Lo, red at Hi)
// blended half and half with the image.
func TestHeatmapGridLayout(t *testing.T) {
	const h, w = 20, 30
	grey := [3]uint8{100, 100, 100}
	for _, c := range []struct {
		name   string
		panels []HeatmapPanel
		cols   int
	}{
		{"no masks", []HeatmapPanel{panel(h, w, grey, false, "good")}, 2},
		{"one mask", []HeatmapPanel{panel(h, w, grey, true, "crack"), panel(h, w, grey, false, "good")}, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "grid.png")
			if err := (HeatmapGrid{Panels: c.panels, Lo: 0, Hi: 1}).WritePNG(path); err != nil {
				t.Fatal(err)
			}
			img := decode(t, path)
			n := len(c.panels)
			wantW := gridLeft + c.cols*w + (c.cols-1)*gridGap + gridBarPad + gridBar + gridRight
			wantH := gridTop + n*(h+gridGap) - gridGap
			if s := img.Bounds().Size(); s.X != wantW || s.Y != wantH {
				t.Fatalf("grid is %v, want %dx%d", s, wantW, wantH)
			}
			at := func(col, x, y int) color.RGBA {
				return color.RGBAModel.Convert(img.At(gridLeft+col*(w+gridGap)+x, gridTop+y)).(color.RGBA)
			}
			if got := at(0, 5, 5); got != (color.RGBA{100, 100, 100, 255}) {
				t.Errorf("image column pixel %v, want the image's grey", got)
			}
			mapCol := c.cols - 1
			// jet(0) is (0, 0, 128) and jet(1) is (128, 0, 0), blended with grey 100.
			if got := at(mapCol, 0, 5); got != (color.RGBA{50, 50, 114, 255}) {
				t.Errorf("map at Lo %v, want blue over grey", got)
			}
			if got := at(mapCol, w-1, 5); got != (color.RGBA{114, 50, 50, 255}) {
				t.Errorf("map at Hi %v, want red over grey", got)
			}
			if c.cols == 3 {
				if got := at(1, 0, 5); got != (color.RGBA{255, 255, 255, 255}) {
					t.Errorf("mask column inside the mask %v, want white", got)
				}
				if got := at(1, w-1, 5); got != (color.RGBA{0, 0, 0, 255}) {
					t.Errorf("mask column outside the mask %v, want black", got)
				}
				// The maskless panel's ground truth is empty: all black.
				if got := at(1, 0, h+gridGap+5); got != (color.RGBA{0, 0, 0, 255}) {
					t.Errorf("maskless panel's ground truth %v, want black", got)
				}
			}
		})
	}
}

// TestHeatmapGridBadPanels: panels that disagree with the grid, or whose
// pixels do not fill them, are errors naming the file and the panel, and
// nothing is written.
func TestHeatmapGridBadPanels(t *testing.T) {
	grey := [3]uint8{1, 2, 3}
	short := panel(4, 4, grey, false, "short-map")
	short.Map = short.Map[:15]
	shortMask := panel(4, 4, grey, true, "short-mask")
	shortMask.Mask = shortMask.Mask[:3]
	shortRGB := panel(4, 4, grey, false, "short-rgb")
	shortRGB.RGB = shortRGB.RGB[:47]
	for _, c := range []struct {
		name   string
		panels []HeatmapPanel
		want   []string
	}{
		{"none", nil, []string{"no panels"}},
		{"size", []HeatmapPanel{panel(4, 4, grey, false, "a"), panel(4, 5, grey, false, "b")}, []string{`panel 1 ("b")`, "4x5, want 4x4"}},
		{"map", []HeatmapPanel{short}, []string{`panel 0 ("short-map")`, "15 map values, want 16"}},
		{"mask", []HeatmapPanel{panel(4, 4, grey, false, "a"), shortMask}, []string{`panel 1`, "3 mask values"}},
		{"rgb", []HeatmapPanel{shortRGB}, []string{"47 RGB bytes, want 48"}},
		{"empty", []HeatmapPanel{{Label: "e"}}, []string{"empty"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "grid.png")
			err := HeatmapGrid{Panels: c.panels, Lo: 0, Hi: 1}.WritePNG(path)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range append(c.want, path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("files were written: %v", ents)
			}
		})
	}
}

// TestTruncate: long row labels are cut to fit the label margin, with a
// dot marking the cut.
func TestTruncate(t *testing.T) {
	for in, want := range map[string]string{"good": "good", "contamination": "contamination", "broken_large_x": "broken_large."} {
		if got := truncate(in, 13); got != want {
			t.Errorf("truncate(%q) = %q, want %q", in, got, want)
		}
	}
}
