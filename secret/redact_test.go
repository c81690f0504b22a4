package secret

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
)

// TestRedactor masks values as written, JSON-escaped and Go-quoted,
// longest first, and leaves values too short to matter alone.
func TestRedactor(t *testing.T) {
	r := NewRedactor([]string{"abc", "abcdef", `p"w\d`, "tab\there", "", "ab"})
	tests := []struct{ in, want string }{
		{"key=abcdef end", "key=" + Mask + " end"},
		{"key=abc", "key=" + Mask},
		{`raw p"w\d`, "raw " + Mask},
		{`json "p\"w\\d"`, `json "` + Mask + `"`},
		{`quoted "tab\there"`, `quoted "` + Mask + `"`},
		{"short ab stays", "short ab stays"},
		{"nothing here", "nothing here"},
	}
	for _, tt := range tests {
		if got := r.Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
	var nilR *Redactor
	if got := nilR.Redact("abc"); got != "abc" || !nilR.Empty() {
		t.Errorf("nil redactor: got %q, want %q", got, "abc")
	}
	var zero Redactor
	if got := zero.Redact("abc"); got != "abc" || !zero.Empty() {
		t.Errorf("zero redactor: got %q, want %q", got, "abc")
	}
	if NewRedactor([]string{"", "x"}).Empty() != true || r.Empty() {
		t.Error("Empty is wrong")
	}
}

// TestRedactorAdd checks that values added later are masked from then on,
// also while other goroutines redact.
func TestRedactorAdd(t *testing.T) {
	r := NewRedactor([]string{"old-token"})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				if got := r.Redact("old-token"); got != Mask {
					t.Errorf("got %q", got)
					return
				}
			}
		}()
	}
	r.Add([]string{"new-token"})
	wg.Wait()
	if got := r.Redact("old-token new-token"); got != Mask+" "+Mask {
		t.Errorf("after Add: got %q", got)
	}
}

// TestValuesFeedRedactor checks the whole path from spec and config to
// masked text, for a config echoed in an error message.
func TestValuesFeedRedactor(t *testing.T) {
	spec := json.RawMessage(`{"connectionSpecification":{"properties":{"auth":{"$ref":"#/definitions/a"}},"definitions":{"a":{"properties":{"password":{"airbyte_secret":true}}}}}}`)
	config := json.RawMessage(`{"auth":{"user":"alice","password":"pa\"ss-w0rd"}}`)
	r := NewRedactor(Values(spec, config))
	got := r.Redact("cannot log in with config " + string(config))
	if strings.Contains(got, "w0rd") || !strings.Contains(got, "alice") {
		t.Errorf("got %q", got)
	}
}
