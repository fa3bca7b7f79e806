//go:build !unix

package experiments

import (
	"context"
	"os"
)

// runLock is a no-op where flock(2) is missing: concurrent writers of one
// entry may then both compute it, and each renames complete, identical
// files into place (see the package documentation), so the cache stays
// consistent; only the work is duplicated.
type runLock struct{}

func lockRun(ctx context.Context, dir string, waiting func()) (*runLock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &runLock{}, ctx.Err()
}

func (l *runLock) unlock() {}

// lockHeld cannot tell without flock; runs in flight show as pending.
func lockHeld(dir string) (bool, error) { return false, nil }
