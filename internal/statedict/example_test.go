package statedict_test

import (
	"fmt"
	"log"

	"github.com/padim-go/padim/internal/statedict"
)

func Example() {
	// A state dict saved by torch.save(module.state_dict(), "module.pth")
	// for nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3)).
	f, err := statedict.Open("testdata/module.pth")
	if err != nil {
		log.Fatal(err)
	}
	w, err := f.Get("0.weight", 3, 2, 3, 3)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(w.Name, w.Shape, len(w.Data))
	fmt.Println(f.Tensors.Names())
	_, err = f.Get("0.weight", 3, 2, 5, 5)
	fmt.Println(err)
	// Output:
	// 0.weight [3 2 3 3] 54
	// [0.bias 0.weight 1.bias 1.running_mean 1.running_var 1.weight]
	// testdata/module.pth: tensor 0.weight shape [3 2 3 3] want [3 2 5 5]
}
