//go:build ferry_failpoints

package failpoint

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Enabled reports whether this build honours failpoints.
const Enabled = true

var (
	loadOnce sync.Once
	mu       sync.Mutex
	armed    map[string]int // name -> the hit to pause at
	hits     map[string]int
)

// load reads Env once: a failpoint is armed for the life of the process.
func load() {
	armed, hits = map[string]int{}, map[string]int{}
	for _, f := range strings.Split(os.Getenv(Env), ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		name, nth, found := strings.Cut(f, "@")
		n := 1
		if found {
			var err error
			if n, err = strconv.Atoi(nth); err != nil || n < 1 {
				fmt.Fprintf(os.Stderr, "ferry failpoint: %q: want name or name@n with n >= 1\n", f)
				os.Exit(2)
			}
		}
		armed[name] = n
	}
}

// Hit pauses for good when name is armed and this is its n-th hit.
func Hit(name string) {
	loadOnce.Do(load)
	mu.Lock()
	n, ok := armed[name]
	hits[name]++
	pause := ok && hits[name] == n
	mu.Unlock()
	if !pause {
		return
	}
	fmt.Fprintf(os.Stderr, "%s%s\n", Marker, name)
	// Sleep rather than block on a channel: were every other goroutine
	// idle, the runtime would call a channel block a deadlock and exit.
	for {
		time.Sleep(time.Hour)
	}
}
