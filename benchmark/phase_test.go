package benchmark

import (
	"testing"
	"time"
)

// TestPhaseClock drives the clock by hand, each step 1 s of wall time and
// 2 s of CPU time: a load alone counts as decoding, a load overlapping
// the backbone counts as backbone, and time with neither counts as
// neither.
func TestPhaseClock(t *testing.T) {
	step := 0
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := &phaseClock{now: func() (time.Time, time.Duration) {
		step++
		return base.Add(time.Duration(step) * time.Second), time.Duration(2*step) * time.Second
	}}
	c.transition(func() { c.loaders++ })        // load starts
	c.transition(func() { c.backbone = true })  // 1 s decoding
	c.transition(func() { c.loaders-- })        // 1 s backbone (load overlapping)
	c.transition(func() { c.backbone = false }) // 1 s backbone
	c.transition(func() {})                     // 1 s of neither
	if c.decoding.wall != time.Second || c.decoding.cpu != 2*time.Second {
		t.Errorf("decoding %+v, want 1 s wall and 2 s CPU", c.decoding)
	}
	if c.features.wall != 2*time.Second || c.features.cpu != 4*time.Second {
		t.Errorf("features %+v, want 2 s wall and 4 s CPU", c.features)
	}
	c.reset()
	c.transition(func() { c.backbone = true }) // a new period starts here: nothing counted before it
	if c.features != (stopwatch{}) || c.decoding != (stopwatch{}) {
		t.Errorf("after reset: features %+v, decoding %+v", c.features, c.decoding)
	}
}

func TestStopwatch(t *testing.T) {
	var s stopwatch
	stop := s.start()
	time.Sleep(20 * time.Millisecond)
	stop()
	first := s.wall
	if first < 20*time.Millisecond || s.cpu < 0 {
		t.Fatalf("stopwatch %+v after a 20 ms sleep", s)
	}
	s.start()() // a second interval adds to the first
	if s.wall < first {
		t.Errorf("second interval lowered the total: %v < %v", s.wall, first)
	}
}
