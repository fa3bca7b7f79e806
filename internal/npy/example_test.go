package npy_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/padim-go/padim/internal/npy"
)

func Example() {
	dir, err := os.MkdirTemp("", "npy-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "scores.npy")

	// numpy.load(path) gives array([[0., 0.5, 1.], [1.5, 2., 2.5]], dtype=float32).
	if err := npy.WriteFloat32(path, []int{2, 3}, []float32{0, 0.5, 1, 1.5, 2, 2.5}); err != nil {
		log.Fatal(err)
	}
	shape, data, err := npy.ReadFloat32(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(shape, data)
	// Output: [2 3] [0 0.5 1 1.5 2 2.5]
}
