package blas

import "fmt"

func checkGemm(transA, transB bool, m, n, k, la, lda, lb, ldb, lc, ldc int) {
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	if lda < ac || ldb < bc || ldc < n {
		panic(fmt.Sprintf("blas: gemm leading dimension too small (lda %d < %d, ldb %d < %d or ldc %d < %d)", lda, ac, ldb, bc, ldc, n))
	}
	if la < (ar-1)*lda+ac || lb < (br-1)*ldb+bc || lc < (m-1)*ldc+n {
		panic(fmt.Sprintf("blas: gemm slices too short for %dx%dx%d", m, n, k))
	}
}

func checkSyrk(n, k, la, lda, lc, ldc int) {
	if lda < n || ldc < n {
		panic(fmt.Sprintf("blas: syrk leading dimension too small (lda %d, ldc %d, n %d)", lda, ldc, n))
	}
	if (k > 0 && la < (k-1)*lda+n) || lc < (n-1)*ldc+n {
		panic(fmt.Sprintf("blas: syrk slices too short for n=%d k=%d", n, k))
	}
}

func scale32(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		for j := range row {
			row[j] *= beta
		}
	}
}

func scale64(m, n int, beta float64, c []float64, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		for j := range row {
			row[j] *= beta
		}
	}
}
