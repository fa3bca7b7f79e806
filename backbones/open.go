package backbones

import (
	"github.com/padim-go/padim/internal/statedict"
)

// Open loads the named backbone from a torchvision .pth or .safetensors
// file, reading only the tensors up to the deepest of layers, and returns
// the file's hex SHA-256 so results can record exactly which weights made
// them. Errors about the weights start with the file name:
// "w.pth: tensor layer1.0.conv1.weight missing".
func Open(name, weightsPath string, layers []string) (Backbone, string, error) {
	if _, err := build(name); err != nil {
		return nil, "", err
	}
	sum, err := statedict.SHA256File(weightsPath)
	if err != nil {
		return nil, "", err
	}
	sd, err := statedict.Load(weightsPath)
	if err != nil {
		return nil, "", err
	}
	b, err := load(name, weightsPath, sd, layers)
	if err != nil {
		return nil, "", err
	}
	return b, sum, nil
}
