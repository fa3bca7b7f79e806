package backbones

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/padim-go/padim/internal/nn"
	"github.com/padim-go/padim/internal/tensor"
)

// TestMBConvChannelGroups checks that the expansion and depthwise
// convolution run per channel group give, bit for bit, what the whole
// convolutions give, and the same channel means, for a stride-1 and a stride-2 block on inputs cut
// into several groups, on one goroutine and on several.
func TestMBConvChannelGroups(t *testing.T) {
	defer nn.SetThreads(nn.SetThreads(0))
	b, err := NewRandom("efficientnet_b5", 3)
	if err != nil {
		t.Fatal(err)
	}
	net := b.(*network)
	rng := rand.New(rand.NewPCG(5, 6))
	for _, step := range []int{4, 5, 10} { // stride 2 3x3, stride 1 3x3, stride 1 5x5
		blk := net.steps[step].(*mbconv)
		for _, threads := range []int{1, 2, 3} {
			nn.SetThreads(threads)
			t.Run(fmt.Sprintf("step%d/threads%d", step, threads), func(t *testing.T) {
				x := tensor.New(1, blk.expand.conv.InC, 37, 45)
				for i := range x.Data {
					x.Data[i] = float32(rng.NormFloat64())
				}
				if groups := len(blk.splitFor(x.H, x.W).expand); groups < 2 {
					t.Fatalf("a %v input makes %d channel group, want several", x, groups)
				}
				got, gotPooled := blk.expandDepthwise(x)
				want := blk.dw.forward(blk.expand.forward(x))
				wantPooled := nn.GlobalAvgPool(want)
				if !got.SameShape(want) || !gotPooled.SameShape(wantPooled) {
					t.Fatalf("grouped output %v and means %v, whole %v and %v", got, gotPooled, want, wantPooled)
				}
				for i := range want.Data {
					if math.Float32bits(got.Data[i]) != math.Float32bits(want.Data[i]) {
						t.Fatalf("element %d: grouped %v, whole %v", i, got.Data[i], want.Data[i])
					}
				}
				for c := range wantPooled.Data {
					if math.Float32bits(gotPooled.Data[c]) != math.Float32bits(wantPooled.Data[c]) {
						t.Fatalf("mean of channel %d: grouped %v, whole %v", c, gotPooled.Data[c], wantPooled.Data[c])
					}
				}
			})
		}
	}
}
