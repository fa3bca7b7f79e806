package statedict

import (
	"fmt"
	"github.com/padim-go/padim/internal/testenv"
	"path/filepath"
	"strings"
	"testing"
)

func TestRealResNet18(t *testing.T) {
	path := filepath.Join(testenv.SharedData(t), "weights", "resnet18-imagenet-layer1to3.pth")
	sum, err := SHA256File(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := "8013ad785893fdf93ab9b99ed2143e5578dc5a5319adc5b989e2f3ab2eefad24"; sum != want {
		t.Fatalf("sha256 %s, want %s", sum, want)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	// torchvision ResNet-18 up to layer3: stem conv + bn, two BasicBlocks
	// per stage (two convs and two BNs each), and a 1x1 downsample conv +
	// bn in the first block of layer2 and layer3. BN has four float tensors.
	want := map[string][]int{"conv1.weight": {64, 3, 7, 7}}
	bn := func(prefix string, c int) {
		for _, s := range []string{"weight", "bias", "running_mean", "running_var"} {
			want[prefix+"."+s] = []int{c}
		}
	}
	bn("bn1", 64)
	in := 64
	for stage, c := range []int{64, 128, 256} {
		for block := 0; block < 2; block++ {
			p := fmt.Sprintf("layer%d.%d.", stage+1, block)
			blockIn := c
			if block == 0 {
				blockIn = in
			}
			want[p+"conv1.weight"] = []int{c, blockIn, 3, 3}
			want[p+"conv2.weight"] = []int{c, c, 3, 3}
			bn(p+"bn1", c)
			bn(p+"bn2", c)
			if block == 0 && stage > 0 {
				want[p+"downsample.0.weight"] = []int{c, in, 1, 1}
				bn(p+"downsample.1", c)
			}
		}
		in = c
	}
	if len(f.Tensors) != len(want) {
		t.Errorf("%d tensors, want %d", len(f.Tensors), len(want))
	}
	for name, shape := range want {
		if _, err := f.Get(name, shape...); err != nil {
			t.Error(err)
		}
	}
	for _, name := range f.Tensors.Names() {
		if strings.HasPrefix(name, "layer4") || strings.HasPrefix(name, "fc") {
			t.Errorf("unexpected tensor %s", name)
		}
	}
	// The README says every BN was folded away: weight 1, mean 0,
	// var 1-1e-5 (so that sqrt(var+eps) is 1).
	checks := map[string]float32{"weight": 1, "running_mean": 0, "running_var": float32(1 - 1e-5)}
	for name, tensor := range f.Tensors {
		for suffix, v := range checks {
			if strings.Contains(name, "bn") || strings.Contains(name, "downsample.1") {
				if strings.HasSuffix(name, "."+suffix) {
					for i, x := range tensor.Data {
						if x != v {
							t.Fatalf("%s[%d] = %v, want %v", name, i, x, v)
						}
					}
				}
			}
		}
	}
}
