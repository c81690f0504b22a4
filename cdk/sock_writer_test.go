package cdk

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestSockWriterSendBuffer: a socket carrying large records gets the
// larger send buffer after its first full chunk, one carrying small
// records keeps the default, and both deliver every byte in order.
func TestSockWriterSendBuffer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		size   int
		raised bool
	}{{"small records", 100, false}, {"large records", 5000, true}} {
		t.Run(tc.name, func(t *testing.T) {
			client, server := unixPair(t)
			got := make(chan []byte)
			go func() {
				b, _ := io.ReadAll(server)
				got <- b
			}()
			before := sndbuf(t, client)
			w := newSockWriter(client, "test.sock", false)
			prefix := []byte(`{"type":"RECORD","record":{"stream":"s","partition_id":"p","data":`)
			data := []byte(`{"pad":"` + strings.Repeat("x", tc.size) + `"}`)
			var want bytes.Buffer
			for i := 0; want.Len() < 3*socketFlushBytes; i++ {
				if err := w.recordJSONL(prefix, data, int64(i)); err != nil {
					t.Fatal(err)
				}
				want.Write(prefix)
				want.Write(data)
				want.WriteString(`,"emitted_at":` + strconv.Itoa(i) + "}}\n")
			}
			if w.raised != tc.raised {
				t.Errorf("send buffer raised: %v, want %v", w.raised, tc.raised)
			}
			after := sndbuf(t, client)
			if tc.raised && wmemMax(t) >= socketSendBuffer && after < socketSendBuffer {
				t.Errorf("SO_SNDBUF %d after large records, want at least %d", after, socketSendBuffer)
			}
			if !tc.raised && after != before {
				t.Errorf("SO_SNDBUF went from %d to %d with small records", before, after)
			}
			if err := w.close(true); err != nil {
				t.Fatal(err)
			}
			if b := <-got; !bytes.Equal(b, want.Bytes()) {
				t.Errorf("the reader got %d bytes, want the %d written, in order", len(b), want.Len())
			}
		})
	}
}

// unixPair returns the two ends of a Unix stream socket.
func unixPair(t *testing.T) (client, server *net.UnixConn) {
	path := filepath.Join(t.TempDir(), "s.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	if server, err = ln.AcceptUnix(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

func sndbuf(t *testing.T, c *net.UnixConn) int {
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var serr error
	if err := rc.Control(func(fd uintptr) { n, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF) }); err != nil || serr != nil {
		t.Fatal(err, serr)
	}
	return n
}

// wmemMax is the kernel's cap on a send buffer; 0 when unknown.
func wmemMax(t *testing.T) int {
	b, err := os.ReadFile("/proc/sys/net/core/wmem_max")
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}
