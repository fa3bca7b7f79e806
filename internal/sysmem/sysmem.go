package sysmem

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Available returns the memory a new allocation can use, in bytes, and
// where the number comes from: MemAvailable from /proc/meminfo (what the
// kernel estimates can be allocated without swapping), else MemTotal, lowered
// to the cgroup v2 memory.max when that is smaller. ok is false when
// nothing is known (not Linux, or /proc unreadable): callers then skip
// the check.
func Available() (bytes int64, source string, ok bool) {
	info, err := readMeminfo("/proc/meminfo")
	if err != nil {
		return 0, "", false
	}
	switch {
	case info["MemAvailable"] > 0:
		bytes, source = info["MemAvailable"], "MemAvailable in /proc/meminfo"
	case info["MemTotal"] > 0:
		bytes, source = info["MemTotal"], "MemTotal in /proc/meminfo"
	default:
		return 0, "", false
	}
	if b, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && v > 0 && v < bytes {
			bytes, source = v, "the cgroup limit /sys/fs/cgroup/memory.max"
		}
	}
	return bytes, source, true
}

// readMeminfo parses /proc/meminfo's "Name:   123 kB" lines into bytes.
func readMeminfo(path string) (map[string]int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			continue
		}
		if len(fields) > 1 && fields[1] == "kB" {
			v *= 1024
		}
		out[name] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// Format writes a byte count for people: "512 MB", "2.3 GB", "1.9 TB".
func Format(b float64) string {
	switch {
	case b >= 1e12:
		return fmt.Sprintf("%.1f TB", b/1e12)
	case b >= 1e9:
		return fmt.Sprintf("%.1f GB", b/1e9)
	default:
		return fmt.Sprintf("%.0f MB", b/1e6)
	}
}
