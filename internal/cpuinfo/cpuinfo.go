package cpuinfo

import (
	"fmt"
	"os"
	"strings"
)

// Describe returns a one-line description of the first processor of a
// /proc/cpuinfo text: its model name, then its family and model numbers and
// the vector extensions that decide which kernels run, e.g. "AMD EPYC
// (AuthenticAMD family 25 model 17; AVX-512)". It returns "" when the text
// describes no processor.
func Describe(text string) string {
	fields := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			if strings.TrimSpace(line) == "" && len(fields) > 0 {
				break // the first processor's block ends at a blank line
			}
			continue
		}
		k = strings.TrimSpace(k)
		if _, seen := fields[k]; !seen {
			fields[k] = strings.TrimSpace(v)
		}
	}
	name := fields["model name"]
	var id []string
	if v := fields["vendor_id"]; v != "" {
		id = append(id, v)
	}
	if f := fields["cpu family"]; f != "" {
		id = append(id, "family "+f)
	}
	if m := fields["model"]; m != "" {
		id = append(id, "model "+m)
	}
	if name == "" && len(id) == 0 {
		return ""
	}
	if name == "" {
		name = "unnamed processor"
	}
	var ext []string
	flags := map[string]bool{}
	for _, f := range strings.Fields(fields["flags"]) {
		flags[f] = true
	}
	switch {
	case flags["avx512f"]:
		ext = append(ext, "AVX-512")
	case flags["avx2"] && flags["fma"]:
		ext = append(ext, "AVX2+FMA")
	case flags["avx2"]:
		ext = append(ext, "AVX2")
	}
	if flags["amx_tile"] {
		ext = append(ext, "AMX")
	}
	parts := strings.Join(id, " ")
	if len(ext) > 0 {
		if parts != "" {
			parts += "; "
		}
		parts += strings.Join(ext, ", ")
	}
	if parts == "" {
		return name
	}
	return fmt.Sprintf("%s (%s)", name, parts)
}

// Read is Describe of this machine's /proc/cpuinfo, "" where there is none
// (off Linux).
func Read() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	return Describe(string(b))
}
