package main

import "testing"

func TestCoreTypeFor(t *testing.T) {
	for _, tc := range []struct {
		avx512, avx2 bool
		want         string
	}{{true, true, "SkylakeX"}, {false, true, "Haswell"}, {false, false, ""}} {
		if got := coreTypeFor(tc.avx512, tc.avx2); got != tc.want {
			t.Errorf("coreTypeFor(%v, %v) = %q, want %q", tc.avx512, tc.avx2, got, tc.want)
		}
	}
}
