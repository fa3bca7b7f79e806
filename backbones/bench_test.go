package backbones

import (
	"fmt"
	"syscall"
	"testing"

	"github.com/padim-go/padim/internal/tensor"
)

// BenchmarkForward times each backbone at 224 x 224, batch 1 and 8, up
// to its deepest PaDiM layer, and reports achieved conv GFLOP/s and the
// process's CPU time per image (user + system, all threads, the helpers'
// polling included), the steadier measure on a shared machine.
func BenchmarkForward(b *testing.B) {
	for _, name := range Names() {
		for _, batch := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/batch%d", name, batch), func(b *testing.B) {
				s, err := Lookup(name)
				if err != nil {
					b.Fatal(err)
				}
				net, err := New(name)
				if err != nil {
					b.Fatal(err)
				}
				layers := s.PaDiMLayers[len(s.PaDiMLayers)-1:]
				flops, err := ConvFLOPs(net, 224, 224, layers)
				if err != nil {
					b.Fatal(err)
				}
				x := tensor.New(batch, 3, 224, 224)
				// One pass first: it transforms and packs the weights, once
				// per network.
				if _, err := net.Forward(x, layers); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				cpu := cpuSeconds()
				for i := 0; i < b.N; i++ {
					if _, err := net.Forward(x, layers); err != nil {
						b.Fatal(err)
					}
				}
				images := float64(b.N * batch)
				b.ReportMetric(flops*images/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				b.ReportMetric((cpuSeconds()-cpu)/images*1e3, "cpu-ms/img")
			})
		}
	}
}

// cpuSeconds is the user+system CPU time of the whole process so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
