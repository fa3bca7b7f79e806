// Package blas is the project's one door to dense linear algebra: float32
// matrix products for the convolutions and Mahalanobis distances, float64
// rank-k updates for covariance accumulation, and float64 Cholesky inversion
// of covariance matrices.
//
// Two implementations sit behind the same functions:
//
//   - default (cgo): OpenBLAS from Debian's libopenblas-dev (cblas_sgemm,
//     cblas_dsyrk, LAPACK dpotrf/dpotri). About ten times faster than pure Go
//     on this project's shapes.
//   - build tag "purego" (go build -tags purego, or CGO_ENABLED=0): gonum's
//     pure-Go BLAS and LAPACK, for machines without OpenBLAS.
//
// All matrices are row-major with an explicit leading dimension, as in
// gonum's blas packages. Backend names which one was compiled in.
package blas
