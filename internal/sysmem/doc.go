// Package sysmem reports how much memory the machine can give a new
// allocation, so a command can refuse a run whose sizes cannot fit before
// it starts instead of dying in the Go runtime ("fatal error: runtime: out
// of memory") or being killed by the kernel.
package sysmem
