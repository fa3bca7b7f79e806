package experiments

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/padim-go/padim/internal/testenv"
)

// STC runs one model per scene on 256 x 256 frames without crop, as the
// paper; a scene absent from the data is a not-run, not an error.
func TestSTCOneModelPerScene(t *testing.T) {
	data := t.TempDir()
	if err := os.Symlink(filepath.Join(testenv.RepoRoot(t), "testdata", "datasets", "stc"), filepath.Join(data, "stc")); err != nil {
		t.Fatal(err)
	}
	env := &Env{DataRoot: data}
	split, pre, err := env.Dataset(DatasetSpec{Kind: "stc", Category: "01"})
	if err != nil {
		t.Fatal(err)
	}
	if h, w := pre.Size(); h != 256 || w != 256 || pre.Crop != 0 {
		t.Errorf("STC geometry %dx%d crop %d, want 256x256 without crop", h, w, pre.Crop)
	}
	for _, s := range append(split.Train, split.Test...) {
		if !strings.HasPrefix(filepath.Base(filepath.Dir(s.Path)), "01_") {
			t.Errorf("scene 01 split holds %s", s.Path)
		}
	}
	_, _, err = env.Dataset(DatasetSpec{Kind: "stc", Category: "05"})
	var na *NotAvailable
	if !errors.As(err, &na) || !strings.Contains(na.Reason, "scene 05") {
		t.Errorf("absent scene: err = %v, want NotAvailable naming scene 05", err)
	}
	tb := stc(Options{})
	scenes := map[string]bool{}
	for _, r := range tb.Runs {
		scenes[r.Dataset.Category] = true
	}
	if len(scenes) != len(STCScenes) {
		t.Errorf("STC table declares %d scenes, want %d", len(scenes), len(STCScenes))
	}
}
