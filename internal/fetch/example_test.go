package fetch_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/padim-go/padim/internal/fetch"
)

func ExampleDownload() {
	// A stand-in for download.pytorch.org serving a weight file.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("abc"))
	}))
	defer srv.Close()
	dir, err := os.MkdirTemp("", "fetch-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	dest := filepath.Join(dir, "weights", "tiny-ba7816bf.pth")

	// The hash prefix is the one the file name carries, torchvision style.
	err = fetch.Download(context.Background(), srv.URL+"/tiny-ba7816bf.pth", "ba7816bf", dest, nil)
	fmt.Println(err)
	err = fetch.Download(context.Background(), srv.URL+"/tiny-ba7816bf.pth", "00000000", dest+"2", nil)
	fmt.Println(err != nil)
	// Output:
	// <nil>
	// true
}
