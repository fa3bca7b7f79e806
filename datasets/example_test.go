package datasets_test

import (
	"fmt"
	"log"
	"os"

	"github.com/padim-go/padim/datasets"
)

// Generate a tiny synthetic MVTec-style category, load it and preprocess
// one test image and its mask with the paper geometry.
func Example() {
	dir, err := os.MkdirTemp("", "synthetic")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	opts := datasets.SyntheticOptions{Categories: []string{"disc"}, Train: 4, TestGood: 2, TestPerDefect: 1, Seed: 1}
	if err := datasets.GenerateSynthetic(dir, opts); err != nil {
		log.Fatal(err)
	}
	split, err := datasets.LoadMVTec(dir, "disc")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(split.Name, len(split.Train), "train", len(split.Test), "test, masks:", split.HasMasks)

	p := datasets.PaperPreprocess()
	s := split.Test[0]
	x, err := p.Image(s.Path)
	if err != nil {
		log.Fatal(err)
	}
	mask, err := p.SampleMask(s)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Defect, x.N, x.C, x.H, x.W, len(mask))
	// Output:
	// disc 4 train 5 test, masks: true
	// good 1 3 224 224 50176
}

func ExampleParseFilter() {
	f, err := datasets.ParseFilter("antialias")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(f, f == datasets.Lanczos)
	// Output: lanczos true
}

func ExamplePreprocess_Size() {
	h, w := datasets.PaperPreprocess().Size()
	fmt.Println(h, w)
	h, w = datasets.MagneticTilePreprocess().Size()
	fmt.Println(h, w)
	// Output:
	// 224 224
	// 224 224
}
