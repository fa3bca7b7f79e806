// Package blas is the project's one door to dense linear algebra: float32
// matrix products for the convolutions and Mahalanobis distances, float64
// rank-k updates for covariance accumulation, and float64 Cholesky
// factorisation of covariance matrices.
//
// Two builds sit behind the same functions:
//
//   - default (no cgo needed, CGO_ENABLED=0 works): when the package
//     initialises it loads an optimised BLAS/LAPACK with dlopen through
//     github.com/ebitengine/purego — OpenBLAS (libopenblas.so.0, e.g.
//     Debian's libopenblas0) first, then MKL (libmkl_rt), or Apple's
//     Accelerate on macOS — and calls its Fortran-ABI symbols (sgemm_,
//     dgemm_, dsyrk_, strsm_, dpotrf_). Without one it falls back to gonum.
//     PADIM_BLAS (EnvVar) overrides the search: "gonum" forces the fallback,
//     a family name restricts it, a path loads that file. Origin says what
//     was loaded and why.
//   - build tag "purego": gonum's pure-Go BLAS and LAPACK alone, nothing
//     loaded at run time; the binary is fully static.
//
// OpenBLAS is about ten times faster than gonum on this project's shapes.
// Linking it with cgo instead was measured against run-time loading and
// dropped: a call through purego costs a few hundred nanoseconds more (two
// small allocations), invisible beside the smallest hot call (a 32 x 100
// triangular solve, tens of microseconds); fit and score CPU times of the
// end-to-end benchmark agreed within the rounds' noise.
// All matrices are row-major with an explicit leading dimension, as in
// gonum's blas packages. Backend names the implementation in use.
package blas
