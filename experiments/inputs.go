package experiments

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/padim-go/padim/datasets"
)

// ResultsVersion is mixed into every cache key. Bump it when a change to the
// computation makes earlier cached results stale.
const ResultsVersion = 5

// Inputs implements Executor: the dataset's file list with sizes, and the weights' sha256.
func (e *Env) Inputs(run Run) (string, error) {
	split, _, err := e.Dataset(run.Dataset)
	if err != nil {
		return "", err
	}
	sha := fmt.Sprintf("random:%d", run.Model.RandomWeights)
	if run.Model.RandomWeights == 0 {
		wpath, err := e.WeightsFile(run.Model.Backbone)
		if err != nil {
			return "", err
		}
		if sha, err = e.weightsSHA(wpath); err != nil {
			return "", err
		}
	}
	h := sha256.New()
	fmt.Fprintf(h, "v%d\nweights %s\n", ResultsVersion, sha)
	for _, group := range [][]datasets.Sample{split.Train, split.Test} {
		for _, s := range group {
			for _, p := range []string{s.Path, s.MaskPath} {
				if p == "" {
					continue
				}
				st, err := os.Stat(p)
				if err != nil {
					return "", err
				}
				fmt.Fprintf(h, "%s %d %d\n", filepath.Base(filepath.Dir(p))+"/"+filepath.Base(p), st.Size(), s.MaskIndex)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
