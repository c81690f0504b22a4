package web

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// limiter is a set of token buckets, one per key (a remote address, a
// client id). A bucket holds up to burst tokens and gains one every
// period; taking from an empty bucket is refused with the wait until the
// next token. The clock is a field so tests move time by hand.
type limiter struct {
	burst  float64
	period time.Duration
	now    func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time // when tokens was computed
}

// maxBuckets bounds a limiter's memory: past it, full buckets (keys that
// have not been limited lately) are forgotten, then arbitrary ones. A
// flood of distinct addresses can thus reset some buckets; IPv6 addresses
// are keyed by their /64 (see addrKey) so one host cannot mint millions.
const maxBuckets = 10000

func newLimiter(burst int, period time.Duration) *limiter {
	return &limiter{burst: float64(burst), period: period, now: time.Now, buckets: map[string]*bucket{}}
}

// refill returns key's bucket brought up to now; the caller holds mu.
func (l *limiter) refill(key string, now time.Time) *bucket {
	b, ok := l.buckets[key]
	if !ok {
		l.makeRoom(now)
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	if now.After(b.at) {
		b.tokens = math.Min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.period))
		b.at = now
	}
	return b
}

func (l *limiter) makeRoom(now time.Time) {
	if len(l.buckets) < maxBuckets {
		return
	}
	for k, b := range l.buckets {
		if b.tokens+float64(now.Sub(b.at))/float64(l.period) >= l.burst {
			delete(l.buckets, k)
		}
	}
	for k := range l.buckets {
		if len(l.buckets) < maxBuckets {
			break
		}
		delete(l.buckets, k)
	}
}

// wait returns how long until key's bucket holds a whole token again;
// the caller holds mu.
func (l *limiter) wait(b *bucket) time.Duration {
	return time.Duration((1 - b.tokens) * float64(l.period))
}

// take spends one token of key's bucket. When there is none it spends
// nothing and returns false and the wait until there is one.
func (l *limiter) take(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.refill(key, l.now())
	if b.tokens < 1 {
		return false, l.wait(b)
	}
	b.tokens--
	return true, 0
}

// blocked reports whether key's bucket is empty, and for how long it
// stays so, without spending anything.
func (l *limiter) blocked(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.buckets[key]; !ok {
		return false, 0
	}
	b := l.refill(key, l.now())
	if b.tokens < 1 {
		return true, l.wait(b)
	}
	return false, 0
}

// addrKey is the limiters' key for a request's remote address: the host
// of r.RemoteAddr, and for IPv6 its /64, which one host usually holds
// whole. X-Forwarded-For is not read: any client can write it. Behind a
// reverse proxy every request then comes from the proxy's address and
// shares its limits.
func addrKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.To4() != nil {
		return host
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// The one error mapper (errors.go) names statuses from its table; 429 is
// added here, beside the only code that answers it.
func init() { errorCodes[http.StatusTooManyRequests] = "too_many_requests" }

// writeTooMany answers 429 with a Retry-After in whole seconds, rounded
// up so a client that obeys it is not refused again.
func (s *Server) writeTooMany(w http.ResponseWriter, r *http.Request, retry time.Duration, what string) {
	secs := int64(math.Ceil(retry.Seconds()))
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	writeError(w, r, s.log, &requestError{status: http.StatusTooManyRequests,
		msg: what + "; retry in " + strconv.FormatInt(secs, 10) + " s"})
}
