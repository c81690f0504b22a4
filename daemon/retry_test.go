package daemon

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestBackoff checks 10 s x 3^(n-1) capped at 1,800 s, and no wait after
// progress.
func TestBackoff(t *testing.T) {
	p := DefaultRetryPolicy()
	for _, tc := range []struct {
		n    int
		want time.Duration
	}{
		{0, 0},
		{1, 10 * time.Second},
		{2, 30 * time.Second},
		{3, 90 * time.Second},
		{4, 270 * time.Second},
		{5, 810 * time.Second},
		{6, 1800 * time.Second},
		{60, 1800 * time.Second},
	} {
		if got := p.Backoff(tc.n); got != tc.want {
			t.Errorf("Backoff(%d) = %s, want %s", tc.n, got, tc.want)
		}
	}
}

// outcomes builds attempt histories: 'n' no progress, 'p' progress, 'c'
// config error, 'x' cancelled, 's' succeeded; 'N' and 'P' are 'n' and 'p'
// failing with one same failure, over and over.
func outcomes(s string) []AttemptOutcome {
	out := make([]AttemptOutcome, len(s))
	for i, c := range s {
		switch c {
		case 'p':
			out[i].Progress = true
		case 'P':
			out[i].Progress, out[i].Failure = true, FailureKey("destination/system_error")
		case 'N':
			out[i].Failure = FailureKey("source/system_error", "source/transient_error")
		case 'c':
			out[i].ConfigError = true
		case 'x':
			out[i].Cancelled = true
		case 's':
			out[i].Succeeded = true
		}
	}
	return out
}

// TestDecide checks the retry limits of docs/protocol.md 7.3.
func TestDecide(t *testing.T) {
	p := DefaultRetryPolicy()
	for _, tc := range []struct {
		name    string
		history string
		retry   bool
		backoff time.Duration
	}{
		{"first no-progress failure", "n", true, 10 * time.Second},
		{"second in a row", "nn", true, 30 * time.Second},
		{"four in a row", "nnnn", true, 270 * time.Second},
		{"five in a row stop", "nnnnn", false, 0},
		{"progress resets the run and the backoff to the floor", "nnnnp", true, 10 * time.Second},
		{"after progress the backoff restarts", "nnnnpn", true, 10 * time.Second},
		{"ten no-progress in total stop", "nnnnpnnnnpnn", false, 0},
		{"nine no-progress in total go on", "nnnnpnnnnpn", true, 10 * time.Second},
		{"progress every time stops at 20", "pppppppppppppppppppp", false, 0},
		{"progress every time goes on at 19, after the floor", "ppppppppppppppppppp", true, 10 * time.Second},
		{"config error never retried", "c", false, 0},
		{"config error after progress", "pc", false, 0},
		{"cancelled never retried", "x", false, 0},
		{"succeeded needs no retry", "s", false, 0},
		{"an empty history starts", "", true, 0},
		{"a failure repeated after progress backs off", "PP", true, 10 * time.Second},
		{"and longer each time it repeats", "PPPP", true, 90 * time.Second},
		{"a different failure after progress waits the floor", "PPPp", true, 10 * time.Second},
		{"a repeat without progress counts the longer run", "NNN", true, 90 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := p.Decide(outcomes(tc.history))
			if d.Retry != tc.retry || d.Backoff != tc.backoff {
				t.Errorf("Decide(%q) = retry %v backoff %s (%s), want retry %v backoff %s",
					tc.history, d.Retry, d.Backoff, d.Reason, tc.retry, tc.backoff)
			}
			if !d.Retry && d.Reason == "" {
				t.Errorf("Decide(%q) refused without a reason", tc.history)
			}
		})
	}
}

// TestRetryPolicyValidate checks that a bad policy names its field.
func TestRetryPolicyValidate(t *testing.T) {
	p := DefaultRetryPolicy()
	p.BackoffMax = time.Second
	err := p.Validate()
	ce, ok := err.(*ConfigError)
	if !ok {
		t.Fatalf("Validate() = %v, want a *ConfigError", err)
	}
	if diff := cmp.Diff("Retry.BackoffMax", ce.Field); diff != "" {
		t.Errorf("field (-want +got):\n%s", diff)
	}
}
