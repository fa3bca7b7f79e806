package cpuinfo

import (
	"os"
	"strings"
	"testing"
)

func TestDescribe(t *testing.T) {
	cases := []struct {
		name, text, want string
	}{
		{
			name: "AMD Zen 4 in a VM",
			text: "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\nmodel name\t: AMD EPYC\n" +
				"flags\t\t: fpu sse2 avx2 fma avx512f avx512bw avx512_bf16\n\nprocessor\t: 1\nmodel name\t: Other\n",
			want: "AMD EPYC (AuthenticAMD family 25 model 17; AVX-512)",
		},
		{
			name: "Xeon with AMX",
			text: "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 143\nmodel name\t: Intel(R) Xeon(R) Processor\n" +
				"flags\t\t: avx2 fma avx512f amx_bf16 amx_tile\n",
			want: "Intel(R) Xeon(R) Processor (GenuineIntel family 6 model 143; AVX-512, AMX)",
		},
		{
			name: "AVX2 only",
			text: "vendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\nmodel name\t: Old Xeon\nflags\t\t: avx avx2 fma\n",
			want: "Old Xeon (GenuineIntel family 6 model 85; AVX2+FMA)",
		},
		{
			name: "the first processor's flags, not a later one's",
			text: "model name\t: A\nflags\t\t: sse2\n\nmodel name\t: B\nflags\t\t: avx512f\n",
			want: "A",
		},
		{
			name: "no model name (arm64 lists only numbers)",
			text: "processor\t: 0\nCPU implementer\t: 0x41\nmodel\t\t: 1\n",
			want: "unnamed processor (model 1)",
		},
		{name: "empty", text: "", want: ""},
		{name: "no processor fields", text: "processor\t: 0\n", want: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Describe(tc.text); got != tc.want {
				t.Errorf("Describe = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRead(t *testing.T) {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		t.Skip("no /proc/cpuinfo (not Linux)")
	}
	got := Read()
	if got != Describe(string(b)) {
		t.Errorf("Read() = %q, not Describe of /proc/cpuinfo", got)
	}
	if strings.Contains(string(b), "model name") && got == "" {
		t.Errorf("Read() is empty though /proc/cpuinfo names a model")
	}
}
