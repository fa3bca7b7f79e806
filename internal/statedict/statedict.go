// Package statedict reads named weight tensors from the files PyTorch and
// timm users have: torchvision .pth state_dicts (the zip format torch >= 1.6
// writes) and .safetensors. Every tensor comes back as float32.
package statedict

// Tensor is one named parameter or buffer.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32 // row-major, len = product of Shape
}

// StateDict maps torch parameter names ("layer1.0.conv1.weight") to tensors.
type StateDict map[string]*Tensor
