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
