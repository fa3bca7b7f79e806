// Package experiments declares the paper's tables as data — which datasets,
// backbones and settings each one needs — and runs them with one generic
// runner that caches every finished run, so `padim reproduce` can be
// interrupted and resumed, and an ablation can be re-run with other settings
// by editing a declaration, not code.
//
// A Table is a list of Runs. A Run is one model (PaDiM or SPADE, with its
// backbone, layers, dimension reduction and seed) fitted on one dataset split
// and scored on its test set. Its Key hashes the run's configuration, the
// dataset's file list and the weights' sha256, so a finished run is reused
// until any of them changes.
//
// To add an experiment: write a function returning a Table in tables.go
// (declare its Runs; give each row the paper method name it compares with),
// add it to Tables(), and `padim reproduce --only NAME` runs it.
package experiments
