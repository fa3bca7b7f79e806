package benchmark

import (
	"sync"
	"time"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/datasets"
	"github.com/padim-go/padim/internal/tensor"
)

// timedLoader and timedBackbone tell the stages of padim.Fit and
// experiments.ScoreSplit apart without changing them, through one
// phaseClock: padim.Fit decodes the next batch on other goroutines while
// the backbone runs, so the two overlap.
type timedLoader struct {
	datasets.Preprocess
	clock *phaseClock
}

func (l *timedLoader) Image(path string) (*tensor.Tensor, error) {
	l.clock.transition(func() { l.clock.loaders++ })
	defer l.clock.transition(func() { l.clock.loaders-- })
	return l.Preprocess.Image(path)
}

type timedBackbone struct {
	backbones.Backbone
	clock *phaseClock
}

func (b *timedBackbone) Forward(x *tensor.Tensor, layers []string) (backbones.Features, error) {
	b.clock.transition(func() { b.clock.backbone = true })
	defer b.clock.transition(func() { b.clock.backbone = false })
	return b.Backbone.Forward(x, layers)
}

// phaseClock splits wall and CPU time between the backbone and decoding:
// at every start or end of a backbone call or an image load, the time
// since the previous one goes to the backbone if it was running, else to
// decoding if a load was, else to neither (the rest of the fit). Decoding
// that overlaps the backbone, and its CPU time, therefore count as
// backbone time: "decode" is the decoding the pipeline waited for.
type phaseClock struct {
	// now reads the wall and CPU clocks; nil means time.Now and cpuTime.
	now func() (time.Time, time.Duration)

	mu                 sync.Mutex
	loaders            int
	backbone           bool
	lastWall           time.Time
	lastCPU            time.Duration
	features, decoding stopwatch
}

func (c *phaseClock) read() (time.Time, time.Duration) {
	if c.now != nil {
		return c.now()
	}
	return time.Now(), cpuTime()
}

func (c *phaseClock) transition(change func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now, cpu := c.read()
	if !c.lastWall.IsZero() {
		dw, dc := now.Sub(c.lastWall), cpu-c.lastCPU
		switch {
		case c.backbone:
			c.features.wall += dw
			c.features.cpu += dc
		case c.loaders > 0:
			c.decoding.wall += dw
			c.decoding.cpu += dc
		}
	}
	c.lastWall, c.lastCPU = now, cpu
	change()
}

// reset starts a new accounting period; nothing may be running.
func (c *phaseClock) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.features, c.decoding, c.lastWall = stopwatch{}, stopwatch{}, time.Time{}
}

// stopwatch adds up wall time and process CPU time (user + system, all
// threads) over the intervals it is started for. On a shared machine the
// CPU time is the steadier measure of work: wall time also counts the time
// other processes held the cores.
type stopwatch struct {
	wall, cpu time.Duration
}

func (s *stopwatch) start() (stop func()) {
	w0, c0 := time.Now(), cpuTime()
	return func() {
		s.wall += time.Since(w0)
		s.cpu += cpuTime() - c0
	}
}
