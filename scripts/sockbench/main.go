// Command sockbench measures raw Unix-socket bandwidth, for the bench
// script's reference row: `sockbench serve PATH` listens and writes MiB
// chunks until BYTES are sent; `sockbench read PATH BYTES` connects, reads
// everything and prints MB/s. Run in two containers sharing a volume, it
// shows what the machine's sockets carry without any connector work.
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: sockbench serve|read PATH BYTES")
		os.Exit(2)
	}
	path := os.Args[2]
	total, err := strconv.ParseInt(os.Args[3], 10, 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sockbench: BYTES:", err)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "serve":
		err = serve(path, total)
	case "read":
		err = read(path, total)
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sockbench:", err)
		os.Exit(1)
	}
}

func serve(path string, total int64) error {
	os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return err
	}
	defer l.Close()
	c, err := l.Accept()
	if err != nil {
		return err
	}
	defer c.Close()
	chunk := make([]byte, 1<<20)
	for sent := int64(0); sent < total; {
		n := min(int64(len(chunk)), total-sent)
		if _, err := c.Write(chunk[:n]); err != nil {
			return err
		}
		sent += n
	}
	return nil
}

func read(path string, total int64) error {
	var c net.Conn
	var err error
	for i := 0; i < 600; i++ {
		if c, err = net.Dial("unix", path); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	start := time.Now()
	n, err := io.Copy(io.Discard, c)
	if err != nil {
		return err
	}
	if n != total {
		return fmt.Errorf("read %d bytes, want %d", n, total)
	}
	secs := time.Since(start).Seconds()
	fmt.Printf("%.1f\n", float64(n)/1e6/secs)
	return nil
}
