package tensor

import "testing"

func TestIndexingAndViews(t *testing.T) {
	x := New(2, 3, 4, 5)
	for i := range x.Data {
		x.Data[i] = float32(i)
	}
	// Row-major NCHW: W varies fastest, as in a contiguous PyTorch tensor.
	if got, want := x.At(1, 2, 3, 4), float32(((1*3+2)*4+3)*5+4); got != want {
		t.Fatalf("At(1,2,3,4) = %v, want %v", got, want)
	}
	img := x.Image(1)
	img.Set(0, 0, 0, 0, -1)
	if x.At(1, 0, 0, 0) != -1 {
		t.Fatal("Image does not share memory with its batch")
	}
	ch := x.Channel(1, 2)
	if len(ch) != 20 || ch[0] != x.At(1, 2, 0, 0) {
		t.Fatalf("Channel(1,2) = %v", ch[:3])
	}
	c := x.Clone()
	c.Data[0] = 99
	if x.Data[0] == 99 {
		t.Fatal("Clone shares memory")
	}
}

func TestFromDataAndStack(t *testing.T) {
	if _, err := FromData(1, 2, 2, 2, make([]float32, 7)); err == nil {
		t.Fatal("FromData accepted 7 values for 8 elements")
	}
	a, _ := FromData(1, 1, 1, 2, []float32{1, 2})
	b, _ := FromData(2, 1, 1, 2, []float32{3, 4, 5, 6})
	s, err := Stack([]*Tensor{a, b})
	if err != nil || s.N != 3 || s.Data[4] != 5 {
		t.Fatalf("Stack = %v %v, %v", s, s.Data, err)
	}
	if _, err := Stack([]*Tensor{a, New(1, 2, 1, 2)}); err == nil {
		t.Fatal("Stack accepted items of different shapes")
	}
	if _, err := Stack(nil); err == nil {
		t.Fatal("Stack accepted nothing")
	}
}

func TestNewScratchReusesReleasedBuffers(t *testing.T) {
	a := NewScratch(1, 2, 3, 4)
	if a.Len() != 24 || len(a.Data) != 24 {
		t.Fatalf("NewScratch shape %v, %d values", a, len(a.Data))
	}
	p := &a.Data[0]
	before := RecycledBytes()
	Release(a)
	if a.Data != nil || a.Len() != 0 {
		t.Errorf("released tensor still holds %v", a)
	}
	if got := RecycledBytes() - before; got != 4*24 {
		t.Errorf("free lists grew by %d bytes, want %d", got, 4*24)
	}
	b := NewScratch(2, 3, 4, 1) // same length, other shape
	if &b.Data[0] != p {
		t.Error("a buffer of the released length was not reused")
	}
	if b.N != 2 || b.C != 3 || b.H != 4 || b.W != 1 {
		t.Errorf("reused buffer has shape %v", b)
	}
	c := NewScratch(1, 1, 1, 5) // no buffer of this length: a new one
	for _, v := range c.Data {
		if v != 0 {
			t.Fatalf("new scratch buffer not zeroed: %v", c.Data)
		}
	}
	Release(nil) // no-op
}

func TestPoisonRecycled(t *testing.T) {
	defer SetPoisonRecycled(SetPoisonRecycled(true))
	a := NewScratch(1, 1, 7, 13)
	Release(a)
	b := NewScratch(1, 1, 13, 7)
	for i, v := range b.Data {
		if v == v {
			t.Fatalf("poisoned buffer holds %v at %d, want NaN", v, i)
		}
	}
}

func TestReleaseRespectsTheCap(t *testing.T) {
	before := RecycledBytes()
	big := &Tensor{N: 1, C: 1, H: 1, W: 1, Data: make([]float32, MaxRecycledBytes/4+1)}
	Release(big)
	if RecycledBytes() != before {
		t.Errorf("a buffer above MaxRecycledBytes was kept: %d -> %d bytes", before, RecycledBytes())
	}
}
