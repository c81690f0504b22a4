package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// sample is one run of one path. CPU figures are seconds of user plus
// system time: the machine is shared, so they, not wall time, are the
// primary figure.
type sample struct {
	wall time.Duration
	// cpu is everything the path cost: the process tree on the local
	// runtime, plus the containers' cgroup CPU on Docker.
	cpu float64
	// own is Ferry's own process (or the peer's), without its children.
	own float64
	// dest is the destination connector alone, where it is known.
	dest float64
	// rss is the peak RSS of Ferry's own process (or the peer's), in KiB.
	rss int64
	// bytes is what a Ferry run moved, as its destination counted them:
	// for PROTOBUF the protobuf records, for JSONL the JSON ones.
	bytes int64
}

// procResult is what one finished process cost.
type procResult struct {
	tree float64 // the process and every child it waited for
	self float64 // the process alone
	rss  int64   // its own peak RSS in KiB (VmHWM), 0 when not sampled
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat times; it is 100 on
// every Linux this runs on.
const clockTicks = 100

// runProc runs cmd to its end. Before reaping it, it reads the process's
// own CPU time from /proc (the tree's comes with the wait), so Ferry's own
// cost and its connectors' are told apart without touching either.
func runProc(cmd *exec.Cmd) (procResult, error) {
	var r procResult
	if err := cmd.Start(); err != nil {
		return r, err
	}
	pid := cmd.Process.Pid
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the high-water mark is gone once the process exits
		defer wg.Done()
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if hwm := vmHWM(pid); hwm > r.rss {
				r.rss = hwm
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			break
		}
	}
	close(stop)
	wg.Wait()
	self, _ := statCPU(pid)
	err := cmd.Wait()
	r.self = self
	if ps := cmd.ProcessState; ps != nil {
		// wait4 reports the child with its own reaped children (RUSAGE_BOTH).
		r.tree = ps.UserTime().Seconds() + ps.SystemTime().Seconds()
	}
	return r, err
}

// statCPU reads a process's own utime+stime from /proc/PID/stat.
func statCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces: fields count from after its ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// After ')': state is field 3, so utime (14) and stime (15) are f[11], f[12].
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return (u + s) / clockTicks, nil
}

// vmHWM is a process's peak RSS in KiB, 0 when unknown.
func vmHWM(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// runPipe runs src | dst joined by one OS pipe of pipeSize bytes (as large
// as the pipes Ferry makes), the baseline that Ferry's stdio path is
// compared with. It returns both processes' costs.
func runPipe(src, dst *exec.Cmd) (s, d procResult, err error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return s, d, err
	}
	unix.FcntlInt(pw.Fd(), unix.F_SETPIPE_SZ, pipeSize) //nolint:errcheck // a smaller pipe is only slower
	src.Stdout, dst.Stdin = pw, pr
	type res struct {
		r   procResult
		err error
	}
	sc, dc := make(chan res, 1), make(chan res, 1)
	defer pr.Close()
	err = src.Start()
	// The source holds its own end now; the driver's copy would keep the
	// pipe open past the source's exit.
	pw.Close()
	if err != nil {
		return s, d, err
	}
	go func() { r, err := waitProc(src); sc <- res{r, err} }()
	go func() { r, err := runProc(dst); dc <- res{r, err} }()
	sr, dr := <-sc, <-dc
	if sr.err != nil {
		return sr.r, dr.r, fmt.Errorf("source: %w", sr.err)
	}
	if dr.err != nil {
		return sr.r, dr.r, fmt.Errorf("destination: %w", dr.err)
	}
	return sr.r, dr.r, nil
}

// waitProc waits for a started command and reports its cost.
func waitProc(cmd *exec.Cmd) (procResult, error) {
	err := cmd.Wait()
	var r procResult
	if ps := cmd.ProcessState; ps != nil {
		r.tree = ps.UserTime().Seconds() + ps.SystemTime().Seconds()
		r.self = r.tree
	}
	return r, err
}

// pipeSize matches the pipes Ferry joins connectors with.
const pipeSize = 1 << 20
