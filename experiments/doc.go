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
// until any of them changes. Its settings are typed strings (Method,
// Reduction, Combination, DatasetKind), so their JSON and the keys are those
// of plain strings; Lookup and ReadTaskFile validate them, so a declaration
// or a task file with a value the code does not handle fails before any work.
//
// To add an experiment: write a function returning a Table in tables.go
// (declare its Runs; give each row the paper method name it compares with),
// add it to Tables(), and `padim reproduce --only NAME` runs it.
package experiments

// # Planning and running on many machines
//
// MakePlan states every run of some tables without doing any work: its cache
// key, whether it is cached, being computed by another process, to run, or
// cannot run here (and why), and an Estimate of its CPU time and peak memory.
// Estimates scale the project's measurements (reports/bench.md,
// reports/bench-backbones.md, reports/cost.md) by the run's image counts, grid
// size and d, with padim.FitHeldBytes for PaDiM's fit and the training-feature
// gallery for SPADE; where a dataset is missing they use its published size.
//
// Plan.Tasks groups the runs still to do into tasks, one per dataset and
// backbone (Group). The runs of one group read the same images through the
// same network, and the FeatureCache shares those features only within a
// process: grouping by dataset and backbone means each image goes through
// each backbone once per task, as in a local run, instead of once per run. A
// finer split (one run per task) would redo the forward passes, which dominate
// most ablation runs; a coarser one (one task per dataset) would make tasks
// that need several backbones' memory at once and serialise independent work.
// A run shared by several tables (same key) is planned once. A task's memory
// request is its largest run plus the feature cache its group fills, with a
// fifth of headroom.
//
// Runner.RunTask runs one task. Results stay consistent with any number of
// concurrent writers, on one machine or many sharing a filesystem:
//
//   - A run's result.json is its only completion mark and is written last,
//     atomically (internal/atomicfile: a temporary file in the same directory,
//     fsync, rename), after its artifacts, which are written the same way. A
//     process killed at any instant (scancel, time limit, node failure) leaves
//     at most hidden temporary files, never a partial result, and the run
//     counts as not done.
//   - Before computing a run, the runner (in a task, or in a plain local
//     reproduce) takes an exclusive flock(2) on the entry's .lock file and
//     reads the cache again, so a run that another process finished meanwhile
//     is not recomputed and two processes never compute one entry at once. The lock file is never deleted (deleting it
//     would let a second process lock a fresh inode while the first holds the
//     old one). flock is released by the kernel when a process dies, so a
//     killed task leaves no stale lock. On NFS, Linux implements flock with
//     the server's byte-range locks (NFSv4, or NFSv3 with lockd); where a
//     filesystem does not honour them (or on non-Unix builds, where the lock is a
//     no-op) the worst case is duplicated work: two
//     writers then rename complete, identical files over each other (runs are
//     deterministic), and a reader sees one or the other, never a mix within
//     one file.
//   - A run that fails writes failed.json (the error, host, task) and its
//     task goes on with its other runs and exits non-zero; success removes
//     the record. RunStatus reads these files and probes the lock, so status
//     needs no scheduler: done (result.json), running (lock held), failed
//     (failed.json) or pending.
//
// Resubmitting the same tables plans again from the cache: only runs without
// a result (and not locked by a live task) become tasks.
