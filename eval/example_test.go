package eval_test

import (
	"fmt"

	"github.com/padim-go/padim/eval"
)

func ExampleAUROC() {
	scores := []float64{0.1, 0.4, 0.35, 0.8}
	anomalous := []bool{false, false, true, true}
	auc, err := eval.AUROC(scores, anomalous)
	if err != nil {
		panic(err)
	}
	fmt.Println(auc)
	// Output: 0.75
}

func ExamplePRO() {
	// One 2 x 3 image whose mask [[T F F] [F T T]] is a single 8-connected
	// region. Its brightest pixel is found first, then all normal pixels,
	// then the rest of the region.
	maps := [][]float32{{5, 3, 3, 3, 1, 1}}
	masks := [][]bool{{true, false, false, false, true, true}}
	res, err := eval.PRO(maps, masks, 3, eval.PaperPROLimit)
	if err != nil {
		panic(err)
	}
	fmt.Printf("regions %d, AU-PRO %.4f\n", res.Regions, res.AUPRO)
	// Output: regions 1, AU-PRO 0.3333
}

func ExampleEvaluate() {
	// Without ground-truth masks the pixel metrics are unavailable, not 0.
	res, err := eval.Evaluate(eval.Input{
		ImageScores: []float64{1.5, 3.2, 0.7},
		ImageLabels: []bool{false, true, false},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("image AUROC", res.ImageAUROC, "pixel AUROC", res.PixelAUROC, "PRO", res.PRO)
	// Output: image AUROC 1.0000 pixel AUROC n/a PRO n/a
}
