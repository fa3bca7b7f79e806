package experiments

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/internal/statedict"
)

// WeightsFile finds the ImageNet weights of a backbone: the file name the
// registry downloads to, or any file named BACKBONE-*.pth / .safetensors.
func (e *Env) WeightsFile(backbone string) (string, error) {
	spec, err := backbones.Lookup(backbone)
	if err != nil {
		return "", err
	}
	for _, dir := range e.WeightsDirs {
		if spec.Weights.File != "" {
			if p := filepath.Join(dir, spec.Weights.File); fileExists(p) {
				return p, nil
			}
		}
		for _, ext := range []string{".pth", ".safetensors"} {
			m, _ := filepath.Glob(filepath.Join(dir, backbone+"-*"+ext))
			sort.Strings(m)
			if len(m) > 0 {
				return m[0], nil
			}
		}
	}
	return "", &NotAvailable{
		Reason: fmt.Sprintf("ImageNet weights for %s not found in %s", backbone, strings.Join(e.WeightsDirs, ", ")),
		Fetch:  "padim fetch weights " + backbone,
	}
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func (e *Env) weightsSHA(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	k := fmt.Sprintf("%s|%d|%d", path, st.Size(), st.ModTime().UnixNano())
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.sha == nil {
		e.sha = map[string]string{}
	}
	if s, ok := e.sha[k]; ok {
		return s, nil
	}
	s, err := statedict.SHA256File(path)
	if err != nil {
		return "", err
	}
	e.sha[k] = s
	return s, nil
}

// openBackbone loads the run's backbone with ImageNet weights, or with
// deterministic untrained weights for timing-only runs.
func (e *Env) openBackbone(ms ModelSpec, layers []string) (backbones.Backbone, string, error) {
	if ms.RandomWeights != 0 {
		bb, err := backbones.NewRandom(ms.Backbone, ms.RandomWeights)
		return bb, fmt.Sprintf("random:%d", ms.RandomWeights), err
	}
	wpath, err := e.WeightsFile(ms.Backbone)
	if err != nil {
		return nil, "", err
	}
	bb, sha, err := backbones.Open(ms.Backbone, wpath, layers)
	var missing *backbones.MissingTensorError
	if errors.As(err, &missing) {
		return nil, "", &NotAvailable{Reason: fmt.Sprintf("%v (the file lacks a layer this run needs)", err),
			Fetch: "padim fetch weights " + ms.Backbone}
	}
	return bb, sha, err
}
