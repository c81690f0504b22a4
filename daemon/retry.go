package daemon

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// RetryPolicy bounds the attempts of one job (docs/protocol.md 7.3, G9). It
// follows Airbyte's RetryManager: failed attempts are either no-progress
// ("complete failures": nothing was committed) or partial (some state was
// committed). No-progress attempts are limited in a row and in total and
// back off exponentially; an attempt that made progress resets the run of
// no-progress attempts and its backoff, and only the overall cap bounds it.
//
// Two rules keep a failure that repeats after progress from becoming a
// storm (20 attempts in under a minute, when each attempt commits a
// little and then fails the same way): every retry waits at least
// MinBackoff, progress or not, and a failure identical to the one before
// it (the same origins and failure types) backs off as a run of
// no-progress attempts does, whatever the progress in between.
type RetryPolicy struct {
	// MaxSuccessiveNoProgress bounds no-progress attempts in a row.
	MaxSuccessiveNoProgress int
	// MaxTotalNoProgress bounds no-progress attempts over the job.
	MaxTotalNoProgress int
	// MaxTotalWithProgress bounds all attempts of a job, which only a job
	// that keeps making progress can reach.
	MaxTotalWithProgress int
	// BackoffBase is the wait after the first no-progress attempt; each
	// further one in a row multiplies it by BackoffFactor, up to BackoffMax.
	BackoffBase   time.Duration
	BackoffFactor int
	BackoffMax    time.Duration
	// MinBackoff is the least wait before any retry, after progress too.
	MinBackoff time.Duration
}

// DefaultRetryPolicy is Airbyte's default: 5 successive and 10 total
// no-progress attempts, 20 in all, backoff 10 s x 3^(n-1) capped at 30 min;
// and Ferry's floor of 10 s (Airbyte's first backoff) before any retry.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		MaxSuccessiveNoProgress: 5,
		MaxTotalNoProgress:      10,
		MaxTotalWithProgress:    20,
		BackoffBase:             10 * time.Second,
		BackoffFactor:           3,
		BackoffMax:              30 * time.Minute,
		MinBackoff:              10 * time.Second,
	}
}

// Validate returns a *ConfigError naming the first wrong field.
func (p RetryPolicy) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &ConfigError{Field: "Retry." + field, Message: fmt.Sprintf(format, args...)}
	}
	switch {
	case p.MaxSuccessiveNoProgress < 1:
		return bad("MaxSuccessiveNoProgress", "is %d, want at least 1", p.MaxSuccessiveNoProgress)
	case p.MaxTotalNoProgress < p.MaxSuccessiveNoProgress:
		return bad("MaxTotalNoProgress", "is %d, want at least MaxSuccessiveNoProgress (%d)", p.MaxTotalNoProgress, p.MaxSuccessiveNoProgress)
	case p.MaxTotalWithProgress < 1:
		return bad("MaxTotalWithProgress", "is %d, want at least 1", p.MaxTotalWithProgress)
	case p.BackoffBase < 0:
		return bad("BackoffBase", "must not be negative")
	case p.BackoffFactor < 1:
		return bad("BackoffFactor", "is %d, want at least 1", p.BackoffFactor)
	case p.BackoffMax < p.BackoffBase:
		return bad("BackoffMax", "is %s, want at least BackoffBase (%s)", p.BackoffMax, p.BackoffBase)
	case p.MinBackoff < 0 || p.MinBackoff > p.BackoffMax:
		return bad("MinBackoff", "is %s, want between 0 and BackoffMax (%s)", p.MinBackoff, p.BackoffMax)
	}
	return nil
}

// AttemptOutcome is what the retry decision needs to know of one finished
// attempt of a job.
type AttemptOutcome struct {
	// Succeeded ends the job; no decision is needed after it.
	Succeeded bool
	// Progress: the attempt committed state (some data moved durably).
	Progress bool
	// ConfigError: a failure of type config_error, which retrying cannot
	// fix (a wrong password, a missing image).
	ConfigError bool
	// Cancelled: a user or the shutdown stopped it.
	Cancelled bool
	// Failure identifies how it failed (see FailureKey); equal keys in a
	// row are a failure that repeats.
	Failure string
}

// RetryDecision says whether a failed job gets another attempt, and when.
type RetryDecision struct {
	Retry bool
	// Backoff is the wait before the next attempt starts.
	Backoff time.Duration
	// Reason explains a refusal, for the job's failure summary and logs.
	Reason string
}

// Decide looks at a job's attempts, oldest first, the last one just
// finished and failed, and decides whether to retry. It is a pure function
// of its input, so the policy is tested without clocks or connectors.
func (p RetryPolicy) Decide(attempts []AttemptOutcome) RetryDecision {
	if len(attempts) == 0 {
		return RetryDecision{Retry: true}
	}
	last := attempts[len(attempts)-1]
	switch {
	case last.Succeeded:
		return RetryDecision{Reason: "the last attempt succeeded"}
	case last.Cancelled:
		return RetryDecision{Reason: "the job was cancelled"}
	case last.ConfigError:
		return RetryDecision{Reason: "a config_error is not retried: fix the configuration and run the job again"}
	}
	successive, totalNoProgress := noProgressRuns(attempts)
	switch {
	case len(attempts) >= p.MaxTotalWithProgress:
		return RetryDecision{Reason: fmt.Sprintf("%d attempts, the most a job may have", len(attempts))}
	case successive >= p.MaxSuccessiveNoProgress:
		return RetryDecision{Reason: fmt.Sprintf("%d attempts in a row committed nothing", successive)}
	case totalNoProgress >= p.MaxTotalNoProgress:
		return RetryDecision{Reason: fmt.Sprintf("%d attempts committed nothing", totalNoProgress)}
	}
	wait := max(p.Backoff(successive), p.Backoff(repeats(attempts)), p.MinBackoff)
	return RetryDecision{Retry: true, Backoff: min(wait, p.BackoffMax)}
}

// repeats counts the failed attempts at the end of the list that failed
// exactly as the last one did; one that is not a repeat counts 0.
func repeats(attempts []AttemptOutcome) int {
	last := attempts[len(attempts)-1].Failure
	if last == "" {
		return 0
	}
	n := 0
	for i := len(attempts) - 1; i >= 0 && attempts[i].Failure == last; i-- {
		n++
	}
	if n < 2 {
		return 0
	}
	return n - 1
}

// FailureKey identifies a failure by the origins and failure types of its
// reasons ("origin/type" each), in any order. Messages are left out: they
// carry counts and byte offsets, and which of two reasons of one crash
// comes first depends on timing ("exited before the end of its input"
// and "exit code 1" are one destination crash).
func FailureKey(originTypes ...string) string {
	keys := slices.Clone(originTypes)
	slices.Sort(keys)
	return strings.Join(slices.Compact(keys), ",")
}

// noProgressRuns counts the no-progress attempts at the end of the list
// (in a row) and in all of it.
func noProgressRuns(attempts []AttemptOutcome) (successive, total int) {
	for _, a := range attempts {
		if a.Progress {
			successive = 0
			continue
		}
		successive++
		total++
	}
	return successive, total
}

// Backoff is the wait after the n-th no-progress attempt in a row:
// BackoffBase x BackoffFactor^(n-1), capped at BackoffMax. n = 0 (the last
// attempt made progress) means no wait: the backoff resets.
func (p RetryPolicy) Backoff(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	d := p.BackoffBase
	for i := 1; i < n; i++ {
		d *= time.Duration(p.BackoffFactor)
		if d >= p.BackoffMax || d <= 0 { // d <= 0: overflow
			return p.BackoffMax
		}
	}
	return min(d, p.BackoffMax)
}
