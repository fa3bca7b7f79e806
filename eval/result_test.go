package eval

import (
	"encoding/json"
	"math"
	"testing"
)

func TestMetricJSON(t *testing.T) {
	tests := []struct {
		name string
		m    Metric
		json string
		str  string
	}{
		{"unavailable", Metric{}, "null", "n/a"},
		{"zero is a value", Available(0), "0", "0.0000"},
		{"one is a value", Available(1), "1", "1.0000"},
		{"fraction", Available(0.97316), "0.97316", "0.9732"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.m)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.json {
				t.Errorf("JSON = %s, want %s", b, tt.json)
			}
			if s := tt.m.String(); s != tt.str {
				t.Errorf("String = %q, want %q", s, tt.str)
			}
			var back Metric
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if back != tt.m {
				t.Errorf("round trip = %+v, want %+v", back, tt.m)
			}
		})
	}
	if _, err := json.Marshal(Available(math.NaN())); err == nil {
		t.Error("NaN metric encoded without error")
	}
	var m Metric
	if err := json.Unmarshal([]byte(`"high"`), &m); err == nil {
		t.Error("string decoded as a metric")
	}
}

func TestEvaluate(t *testing.T) {
	scores := []float64{0.1, 0.9, 0.3, 0.8}
	labels := []bool{false, true, false, true}
	maps := [][]float32{{0, 0, 0, 1}, {5, 1, 0, 0}, {1, 0, 0, 0}, {0, 0, 4, 4}}
	masks := [][]bool{nil, {true, false, false, false}, nil, {false, false, true, true}}

	t.Run("no masks", func(t *testing.T) {
		res, err := Evaluate(Input{ImageScores: scores, ImageLabels: labels})
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := res.ImageAUROC.Get(); !ok || v != 1 {
			t.Errorf("ImageAUROC = %v", res.ImageAUROC)
		}
		if res.PixelAUROC.Valid || res.PRO.Valid || res.PROCurve != nil {
			t.Errorf("pixel metrics reported without masks: %+v", res)
		}
		b, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"image_auroc":1,"pixel_auroc":null,"pro":null,"pro_limit":0.3}`; string(b) != want {
			t.Errorf("JSON = %s, want %s", b, want)
		}
	})
	t.Run("with masks", func(t *testing.T) {
		res, err := Evaluate(Input{ImageScores: scores, ImageLabels: labels, Maps: maps, Masks: masks, Width: 2})
		if err != nil {
			t.Fatal(err)
		}
		pix, err := PixelAUROC(maps, masks)
		if err != nil {
			t.Fatal(err)
		}
		pro, err := PRO(maps, masks, 2, PaperPROLimit)
		if err != nil {
			t.Fatal(err)
		}
		if res.PixelAUROC != Available(pix) || res.PRO != Available(pro.AUPRO) || res.PROCurve == nil {
			t.Errorf("Evaluate = %+v, direct pixel AUROC %v, AU-PRO %v", res, pix, pro.AUPRO)
		}
	})
	bad := []struct {
		name string
		in   Input
	}{
		{"image one class", Input{ImageScores: scores, ImageLabels: []bool{true, true, true, true}}},
		{"map count", Input{ImageScores: scores, ImageLabels: labels, Maps: maps[:3], Masks: masks[:3], Width: 2}},
		{"normal image with defect", Input{ImageScores: scores, ImageLabels: labels, Maps: maps,
			Masks: [][]bool{{true, false, false, false}, masks[1], nil, masks[3]}, Width: 2}},
		{"masks without defects", Input{ImageScores: scores, ImageLabels: labels, Maps: maps,
			Masks: [][]bool{nil, nil, nil, nil}, Width: 2}},
		{"bad width", Input{ImageScores: scores, ImageLabels: labels, Maps: maps, Masks: masks, Width: 3}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Evaluate(tt.in); err == nil {
				t.Error("no error")
			}
		})
	}
}
