package main

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/padim-go/padim/internal/statedict"
	"github.com/padim-go/padim/padim"
)

// modelWeights picks the backbone weights for scoring a model: --weights
// when given; else the file the model recorded at fit time, when it is still
// there and its sha256 is still the recorded one; else, when that file is
// gone (or the model predates recording it), the usual search of findWeights.
// A recorded file whose contents changed is an error naming both sums: the
// model would silently score with other features. The caller still checks
// the sha256 of the file it opens against the model's.
func modelWeights(m *padim.Model, modelPath, given string) (string, error) {
	h := m.Header
	if given != "" || h.WeightsPath == "" {
		return findWeights(h.Backbone, given)
	}
	sum, err := statedict.SHA256File(h.WeightsPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		p, ferr := findWeights(h.Backbone, "")
		if ferr != nil {
			return "", fmt.Errorf("%s: the weights it was fitted with, %s, are no longer there, and %v", modelPath, h.WeightsPath, ferr)
		}
		return p, nil
	case err != nil:
		return "", fmt.Errorf("%s: reading the weights it was fitted with: %w", modelPath, err)
	case h.WeightsSHA256 != "" && sum != h.WeightsSHA256:
		return "", fmt.Errorf("%s was fitted with the weights %s of sha256 %s, but that file now has sha256 %s: restore it, pass --weights FILE with the original weights, or fit again",
			modelPath, h.WeightsPath, h.WeightsSHA256, sum)
	}
	return h.WeightsPath, nil
}

// absPath is p made absolute, or p itself if the working directory is unknown.
func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
