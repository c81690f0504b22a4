package main

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
)

// The raw socket reference. The socket rows are compared with what the
// machine's Unix sockets carry between two containers when nothing but
// the kernel touches the bytes (scripts/sockbench: 1 MiB writes and
// reads). It is measured in every repetition, interleaved with the paths,
// with one socket and with as many as the widest socket path, and the
// best of all those runs is the reference: an upper bound of the machine,
// never lowered to flatter a path.

// rawBytes is what each raw run moves, over all its sockets.
const rawBytes = 4_000_000_000

// rawRuns holds the raw runs' MB/s by socket count.
type rawRuns map[int][]float64

// measureRaw runs the raw reference once for each socket count.
func (b *bench) measureRaw(runs rawRuns) {
	counts := []int{1}
	if n := slices.Max(b.o.socketCounts); n > 1 {
		counts = append(counts, n)
	}
	for _, n := range counts {
		fmt.Fprintf(os.Stderr, "bench: raw Unix sockets x%d between two containers\n", n)
		mbs, err := b.rawSocket(n)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: raw socket:", err)
			continue
		}
		runs[n] = append(runs[n], mbs)
	}
}

// best is the reference: the highest MB/s of any run, and its socket count.
func (r rawRuns) best() (mbs float64, sockets int) {
	for n, runs := range r {
		for _, v := range runs {
			if v > mbs {
				mbs, sockets = v, n
			}
		}
	}
	return mbs, sockets
}

// describe lists every run, for the report.
func (r rawRuns) describe() string {
	var parts []string
	for _, n := range slices.Sorted(maps.Keys(r)) {
		var vs []string
		for _, v := range r[n] {
			vs = append(vs, fmt.Sprintf("%.0f", v))
		}
		parts = append(parts, fmt.Sprintf("x%d: %s", n, strings.Join(vs, ", ")))
	}
	return strings.Join(parts, "; ")
}

// rawSocket measures the raw bandwidth of n Unix sockets between two
// containers sharing a tmpfs volume, as Ferry's socket directory is, in
// MB/s of all of them together.
func (b *bench) rawSocket(n int) (float64, error) {
	img := b.image("sockbench")
	vol := fmt.Sprintf("ferry-bench-sockets-%d", os.Getpid())
	if out, err := exec.Command("docker", "volume", "create", "--driver", "local", "-o", "type=tmpfs",
		"-o", "device=tmpfs", "-o", "o=mode=1777", vol).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("volume: %v: %s", err, out)
	}
	defer exec.Command("docker", "volume", "rm", "-f", vol).Run() //nolint:errcheck // best effort
	name := vol + "-serve"
	count, total := strconv.Itoa(n), strconv.Itoa(rawBytes)
	if out, err := exec.Command("docker", "run", "-d", "--rm", "--log-driver", "none", "--name", name,
		"-v", vol+":/s", img, "serve", "/s", count, total).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("serve: %v: %s", err, out)
	}
	defer exec.Command("docker", "rm", "-f", name).Run() //nolint:errcheck // it exits by itself
	out, err := exec.Command("docker", "run", "--rm", "--log-driver", "none", "-v", vol+":/s", img,
		"read", "/s", count, total).Output()
	if err != nil {
		return 0, fmt.Errorf("read: %v", err)
	}
	return strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
}
