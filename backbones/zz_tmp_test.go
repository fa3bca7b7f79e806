package backbones

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/padim-go/padim/internal/tensor"
)

func TestZZStepTimes(t *testing.T) {
	if os.Getenv("ZZ") == "" {
		t.Skip()
	}
	n, _ := New("efficientnet_b5")
	net := n.(*network)
	deepest := net.at["block25"]
	for _, batch := range []int{1, 8} {
		x := tensor.New(batch, 3, 224, 224)
		times := make([]time.Duration, deepest+1)
		cpus := make([]float64, deepest+1)
		shapes := make([]string, deepest+1)
		for round := 0; round < 8; round++ {
			h := x
			for i := 0; i <= deepest; i++ {
				t0 := time.Now()
				c0 := cpuSeconds()
				next := net.steps[i].forward(h)
				d := time.Since(t0)
				c := cpuSeconds() - c0
				if round == 0 || d < times[i] {
					times[i] = d
				}
				if round == 0 || c < cpus[i] {
					cpus[i] = c
				}
				shapes[i] = fmt.Sprint(next)
				if i > 0 {
					tensor.Release(h)
				}
				h = next
			}
			tensor.Release(h)
		}
		var tot time.Duration
		for i := range times {
			tot += times[i]
			fmt.Printf("b%d step %2d %-28s %7.3f ms/img\n", batch, i, shapes[i], float64(times[i].Microseconds())/1e3/float64(batch))
		}
		fmt.Printf("b%d total %.2f ms/img\n", batch, float64(tot.Microseconds())/1e3/float64(batch))
	}
}
