package relay

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// listen makes n Unix sockets in a short temp dir (socket paths are
// limited to about 108 bytes).
func listen(t *testing.T, n int) ([]string, []net.Listener) {
	t.Helper()
	dir, err := os.MkdirTemp("", "relay-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var paths []string
	var ls []net.Listener
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("s%d.sock", i+1))
		l, err := net.Listen("unix", p)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		paths, ls = append(paths, p), append(ls, l)
	}
	return paths, ls
}

// TestRelayRoundTrip carries three sockets through the relay and the
// Demux: each socket's bytes arrive whole and in order on its own reader,
// large writes included, and the stream ends cleanly.
func TestRelayRoundTrip(t *testing.T) {
	paths, ls := listen(t, 3)
	want := make([][]byte, len(ls))
	for i := range ls {
		var b bytes.Buffer
		for j := range 4000 {
			fmt.Fprintf(&b, `{"socket":%d,"n":%d,"pad":%q}`+"\n", i, j, strings.Repeat("x", j%300))
		}
		want[i] = b.Bytes()
	}
	var served sync.WaitGroup
	for i, l := range ls {
		served.Add(1)
		go func() {
			defer served.Done()
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			c.Write(want[i])
		}()
	}
	pr, pw := io.Pipe()
	r := &Relay{Paths: paths, Out: pw}
	relayErr := make(chan error, 1)
	go func() { err := r.Run(); pw.Close(); relayErr <- err }()
	d := NewDemux(len(paths))
	demuxErr := make(chan error, 1)
	go func() { demuxErr <- d.Run(pr) }()
	var wg sync.WaitGroup
	got := make([][]byte, len(paths))
	for i := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-d.Connected(i)
			got[i], _ = io.ReadAll(d.Socket(i))
		}()
	}
	wg.Wait()
	served.Wait()
	if err := <-relayErr; err != nil {
		t.Fatalf("relay: %v", err)
	}
	if err := <-demuxErr; err != nil {
		t.Fatalf("demux: %v", err)
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("socket %d: got %d bytes, want %d, the same", i+1, len(got[i]), len(want[i]))
		}
	}
}

// TestRelayWaitsForListen: the relay keeps dialling until the source
// listens, and only then reports the socket connected.
func TestRelayWaitsForListen(t *testing.T) {
	tries, slept := 0, 0
	dial := func(string) (io.ReadCloser, error) {
		tries++
		if tries < 3 {
			return nil, errors.New("no such file")
		}
		return io.NopCloser(strings.NewReader("hello\n")), nil
	}
	var out bytes.Buffer
	r := &Relay{Paths: []string{"/x"}, Out: &out, Dial: dial, Sleep: func() { slept++ }}
	if err := r.Run(); err != nil {
		t.Fatal(err)
	}
	d := NewDemux(1)
	go func() { io.ReadAll(d.Socket(0)) }()
	if err := d.Run(&out); err != nil {
		t.Fatal(err)
	}
	if tries != 3 || slept != 2 {
		t.Fatalf("dial tries and waits: got %d and %d, want 3 and 2", tries, slept)
	}
	select {
	case <-d.Connected(0):
	default:
		t.Fatal("not reported connected")
	}
}

// TestDemuxEndsUnfinishedSockets: when the relay's stream stops before a
// socket's end (the relay died), that socket's reader gets an error, not
// a clean EOF that would pass for the source's end; a socket that ended
// cleanly reads to EOF; a broken socket reports the relay's reason.
func TestDemuxEndsUnfinishedSockets(t *testing.T) {
	var s bytes.Buffer
	frame := func(kind byte, i int, p string) {
		h := make([]byte, HeaderSize)
		putHeader(h, kind, i, len(p))
		s.Write(h)
		s.WriteString(p)
	}
	frame(KindConnected, 0, "")
	frame(KindConnected, 1, "")
	frame(KindConnected, 2, "")
	frame(KindData, 0, "a\n")
	frame(KindData, 1, "b\n")
	frame(KindEnd, 0, "")
	frame(KindError, 2, "reading s3: connection reset")
	d := NewDemux(3)
	res := make([]chan string, 3)
	for i := range res {
		res[i] = make(chan string, 1)
		go func() {
			b, err := io.ReadAll(d.Socket(i))
			res[i] <- fmt.Sprintf("%s|%v", b, err)
		}()
	}
	err := d.Run(&s)
	if err == nil || !strings.Contains(err.Error(), "before socket 2 ended") {
		t.Fatalf("demux: got %v, want the unfinished socket 2 named", err)
	}
	for i, want := range []string{"a\n|<nil>", "b\n|socket 2:", "|the relay: reading s3: connection reset"} {
		if got := <-res[i]; !strings.HasPrefix(got, want) {
			t.Errorf("socket %d: got %q, want %q...", i+1, got, want)
		}
	}
}

// TestDemuxRefusesCorruptStreams: an unknown kind, a socket out of range,
// an oversized frame and a truncated frame end the stream with an error.
func TestDemuxRefusesCorruptStreams(t *testing.T) {
	hdr := func(kind byte, i, n int) []byte {
		h := make([]byte, HeaderSize)
		putHeader(h, kind, i, n)
		return h
	}
	for name, stream := range map[string][]byte{
		"unknown kind":   hdr('Z', 0, 0),
		"socket range":   hdr(KindData, 5, 0),
		"oversized":      hdr(KindData, 0, MaxPayload+1),
		"truncated":      append(hdr(KindData, 0, 10), "abc"...),
		"data after end": append(hdr(KindEnd, 0, 0), hdr(KindData, 0, 0)...),
	} {
		d := NewDemux(1)
		go io.ReadAll(d.Socket(0))
		if err := d.Run(bytes.NewReader(stream)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestRelayConnectsAllBeforeData: the second socket connects first and
// has data ready, the first only later. Ferry, as bridged mode's dial
// does, waits for the sockets in order before reading any; the relay must
// not put the second socket's data ahead of the first one's connected
// frame, or the Demux would block on a reader that does not exist yet.
func TestRelayConnectsAllBeforeData(t *testing.T) {
	var mu sync.Mutex
	firstTries := 0
	secondUp := make(chan struct{})
	dial := func(p string) (io.ReadCloser, error) {
		if p == "/second" {
			defer close(secondUp)
			return io.NopCloser(strings.NewReader(strings.Repeat("second\n", 50000))), nil
		}
		<-secondUp
		mu.Lock()
		defer mu.Unlock()
		if firstTries++; firstTries < 3 {
			return nil, errors.New("not yet")
		}
		return io.NopCloser(strings.NewReader("first\n")), nil
	}
	pr, pw := io.Pipe()
	r := &Relay{Paths: []string{"/first", "/second"}, Out: pw, Dial: dial, Sleep: func() {}}
	go func() { r.Run(); pw.Close() }()
	d := NewDemux(2)
	go d.Run(pr)
	done := make(chan [2]int, 1)
	go func() {
		<-d.Connected(0)
		<-d.Connected(1)
		var n [2]int
		var wg sync.WaitGroup
		for i := range 2 {
			wg.Add(1)
			go func() { defer wg.Done(); b, _ := io.ReadAll(d.Socket(i)); n[i] = len(b) }()
		}
		wg.Wait()
		done <- n
	}()
	select {
	case n := <-done:
		if n != [2]int{6, 350000} {
			t.Fatalf("bytes per socket: got %v, want [6 350000]", n)
		}
	case <-time.After(time.Minute): // a hang guard, not a limit
		t.Fatal("the relay and the Demux deadlocked")
	}
}
