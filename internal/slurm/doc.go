// Package slurm drives a Slurm cluster through its command-line clients
// (sbatch, squeue, sacct, scancel, sinfo) run as processes. It builds their
// arguments and parses their machine-readable output; it keeps no state and
// schedules nothing itself, so the cluster's own tools stay the truth about
// every job.
//
// Commands are found on PATH (or under Client.Dir) and run with the
// caller's environment plus Client.Env, so SLURM_CONF selects the cluster
// as it does for the user's own shell.
package slurm
