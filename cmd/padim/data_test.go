package main

import (
	"strings"
	"testing"
)

func TestDatasetFormatValidate(t *testing.T) {
	for _, tc := range []struct {
		format datasetFormat
		ok     bool
	}{
		{formatMVTec, true},
		{formatMagneticTile, true},
		{formatSTC, true},
		{formatFolder, true},
		{"", false},
		{"MVTec", false},
		{"rd-mvtec", false}, // a dataset kind of the experiments, not a layout on disk
	} {
		err := tc.format.Validate()
		if tc.ok != (err == nil) {
			t.Errorf("--format %q: error %v, want ok=%v", tc.format, err, tc.ok)
		}
		if err != nil && (!strings.Contains(err.Error(), `--format "`+string(tc.format)+`"`) || !strings.Contains(err.Error(), "mvtec, magnetic-tile, stc, folder")) {
			t.Errorf("--format %q: error %q does not name the flag and the allowed formats", tc.format, err)
		}
	}
	// load refuses a bad --format before reading anything.
	o := dataOptions{data: t.TempDir(), format: "bogus", category: "x"}
	if _, _, err := o.load(); err == nil || !strings.Contains(err.Error(), `--format "bogus"`) {
		t.Errorf("load with --format bogus: %v", err)
	}
}
