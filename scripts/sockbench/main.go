// Command sockbench measures raw Unix-socket bandwidth, for the bench's
// reference figure: `sockbench serve DIR N BYTES` listens on N sockets in
// DIR and, once all are connected, writes BYTES/N on each in 1 MiB
// writes, all at once; `sockbench read DIR N BYTES` connects to them,
// reads everything in 1 MiB reads, and prints MB/s of all the sockets
// together, timed from the moment every socket is connected to the last
// byte. Run in two containers sharing a volume, it shows what the
// machine's sockets carry without any connector work: nothing touches
// the bytes but the kernel's copies.
package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// chunk is the size of every write and read.
const chunk = 1 << 20

func main() {
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: sockbench serve|read DIR SOCKETS BYTES")
		os.Exit(2)
	}
	dir := os.Args[2]
	n, err := strconv.Atoi(os.Args[3])
	if err != nil || n < 1 {
		fmt.Fprintln(os.Stderr, "sockbench: SOCKETS must be a positive number")
		os.Exit(2)
	}
	total, err := strconv.ParseInt(os.Args[4], 10, 64)
	if err != nil || total < int64(n) {
		fmt.Fprintln(os.Stderr, "sockbench: BYTES must be a number of at least SOCKETS")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "serve":
		err = serve(dir, n, total)
	case "read":
		err = read(dir, n, total)
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sockbench:", err)
		os.Exit(1)
	}
}

func sockPath(dir string, i int) string { return filepath.Join(dir, fmt.Sprintf("raw-%d.sock", i)) }

// share is socket i's part of total: the remainder goes to socket 0.
func share(total int64, n, i int) int64 {
	if i == 0 {
		return total/int64(n) + total%int64(n)
	}
	return total / int64(n)
}

func serve(dir string, n int, total int64) error {
	ls := make([]net.Listener, n)
	for i := range ls {
		os.Remove(sockPath(dir, i))
		l, err := net.Listen("unix", sockPath(dir, i))
		if err != nil {
			return err
		}
		defer os.Remove(sockPath(dir, i))
		defer l.Close()
		ls[i] = l
	}
	// Every socket is connected before any is written, so all of them
	// carry bytes at the same time.
	conns := make([]net.Conn, n)
	for i, l := range ls {
		c, err := l.Accept()
		if err != nil {
			return err
		}
		conns[i] = c
	}
	return each(n, func(i int) error {
		c := conns[i]
		defer c.Close()
		buf := make([]byte, chunk)
		for left := share(total, n, i); left > 0; {
			k, err := c.Write(buf[:min(int64(len(buf)), left)])
			if err != nil {
				return err
			}
			left -= int64(k)
		}
		return nil
	})
}

func read(dir string, n int, total int64) error {
	conns := make([]net.Conn, n)
	for i := range conns {
		var err error
		for try := 0; try < 600; try++ {
			if conns[i], err = net.Dial("unix", sockPath(dir, i)); err == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			return err
		}
		defer conns[i].Close()
	}
	start := time.Now()
	err := each(n, func(i int) error {
		buf := make([]byte, chunk)
		var got int64
		for {
			k, err := conns[i].Read(buf)
			got += int64(k)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
		}
		if want := share(total, n, i); got != want {
			return fmt.Errorf("socket %d: read %d bytes, want %d", i, got, want)
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Printf("%.1f\n", float64(total)/1e6/time.Since(start).Seconds())
	return nil
}

// each runs fn for 0..n-1 at once and returns the first error.
func each(n int, fn func(i int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Go(func() { errs[i] = fn(i) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
