// Command testconn is the subject of the runtime acceptance suite: a tiny
// program whose behaviour comes entirely from its arguments, so runtime tests
// do not depend on the reference connectors.
//
// It runs its arguments as a sequence of steps, each an operation followed
// by a fixed number of operands:
//
//	out TEXT          write TEXT and a newline to stdout
//	err TEXT          write TEXT and a newline to stderr
//	echo              copy stdin to stdout until EOF
//	count             read stdin to EOF, then print "bytes=N"
//	gen LINES LEN     write LINES pattern lines of LEN bytes (-1: forever)
//	generr LINES LEN  the same on stderr
//	cat PATH          copy a file to stdout
//	write PATH TEXT   write TEXT and a newline to a file
//	stat PATH         print "mode=" and the file's mode
//	waitfor PATH      wait until PATH exists
//	env NAME          print NAME=VALUE, or "NAME unset"
//	pwd               print the working directory
//	sleep DURATION    sleep (Go duration syntax)
//	alloc MB          allocate and touch MB mebibytes, then keep them
//	trapterm          ignore SIGTERM from now on
//	spawn             start a copy of this program running "sleep 1h" with
//	                  the same marker, in the same process group
//	marker M          no-op; tags the process for leftover checks
//	exit CODE         exit with CODE
//
// A pattern line i is i as 10 decimal digits, then 'x' up to LEN-1 bytes,
// then '\n' (runnertest.PatternChecker verifies it).
//
// The first argument spec, check or discover switches to connector mode
// (connector.go), which speaks just enough of the Airbyte protocol for the
// `ferry connector` tests.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	args := os.Args[1:]
	if len(args) > 0 {
		switch args[0] {
		case "spec", "check", "discover":
			os.Exit(connector(args))
		}
	}
	if err := steps(args); err != nil {
		fmt.Fprintln(os.Stderr, "testconn:", err)
		os.Exit(100)
	}
}

// held keeps allocations alive until exit.
var held [][]byte

func steps(args []string) error {
	marker := ""
	for len(args) > 0 {
		op := args[0]
		n := operands[op]
		if len(args) < 1+n {
			return fmt.Errorf("%s: want %d operands", op, n)
		}
		arg := args[1 : 1+n]
		args = args[1+n:]
		var err error
		switch op {
		case "out":
			_, err = fmt.Fprintln(os.Stdout, arg[0])
		case "err":
			_, err = fmt.Fprintln(os.Stderr, arg[0])
		case "echo":
			_, err = io.Copy(os.Stdout, os.Stdin)
		case "count":
			var n int64
			n, err = io.Copy(io.Discard, os.Stdin)
			fmt.Printf("bytes=%d\n", n)
		case "gen", "generr":
			w := os.Stdout
			if op == "generr" {
				w = os.Stderr
			}
			err = gen(w, arg[0], arg[1])
		case "cat":
			var b []byte
			if b, err = os.ReadFile(arg[0]); err == nil {
				_, err = os.Stdout.Write(b)
			}
		case "write":
			err = os.WriteFile(arg[0], []byte(arg[1]+"\n"), 0o644)
		case "stat":
			var fi os.FileInfo
			if fi, err = os.Stat(arg[0]); err == nil {
				fmt.Printf("mode=%v\n", fi.Mode())
			}
		case "waitfor":
			for _, err = os.Stat(arg[0]); errors.Is(err, os.ErrNotExist); _, err = os.Stat(arg[0]) {
				time.Sleep(10 * time.Millisecond)
			}
		case "env":
			if v, ok := os.LookupEnv(arg[0]); ok {
				fmt.Printf("%s=%s\n", arg[0], v)
			} else {
				fmt.Printf("%s unset\n", arg[0])
			}
		case "pwd":
			var wd string
			if wd, err = os.Getwd(); err == nil {
				fmt.Println(wd)
			}
		case "sleep":
			var d time.Duration
			if d, err = time.ParseDuration(arg[0]); err == nil {
				time.Sleep(d)
			}
		case "alloc":
			err = alloc(arg[0])
		case "trapterm":
			signal.Ignore(syscall.SIGTERM)
		case "spawn":
			err = spawn(marker)
		case "marker":
			marker = arg[0]
		case "exit":
			var code int
			if code, err = strconv.Atoi(arg[0]); err == nil {
				os.Exit(code)
			}
		default:
			return fmt.Errorf("unknown step %q", op)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	return nil
}

var operands = map[string]int{
	"out": 1, "err": 1, "echo": 0, "count": 0, "gen": 2, "generr": 2,
	"cat": 1, "write": 2, "stat": 1, "waitfor": 1, "env": 1, "pwd": 0, "sleep": 1, "alloc": 1, "trapterm": 0,
	"spawn": 0, "marker": 1, "exit": 1,
}

// gen writes pattern lines; see the package comment.
func gen(out io.Writer, lines, length string) error {
	n, err := strconv.ParseInt(lines, 10, 64)
	if err != nil {
		return err
	}
	size, err := strconv.Atoi(length)
	if err != nil || size < 11 {
		return fmt.Errorf("line length %q: want an integer >= 11", length)
	}
	line := make([]byte, size)
	for i := range line {
		line[i] = 'x'
	}
	line[size-1] = '\n'
	w := bufio.NewWriterSize(out, 256<<10)
	for i := int64(0); n < 0 || i < n; i++ {
		copy(line, fmt.Sprintf("%010d", i))
		if _, err := w.Write(line); err != nil {
			return err
		}
	}
	return w.Flush()
}

// alloc allocates and touches memory so that it really is resident.
func alloc(mb string) error {
	n, err := strconv.Atoi(mb)
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		held = append(held, b)
	}
	return nil
}

// spawn starts a long-sleeping child in this process group, holding stdout,
// so tests can check that a runtime kills the whole group.
func spawn(marker string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, "marker", marker, "sleep", "1h")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	fmt.Printf("spawned %d\n", cmd.Process.Pid)
	return cmd.Process.Release()
}
