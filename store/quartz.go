package store

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Quartz cron expressions, the form Airbyte's API takes ("0 0 12 * * ?"):
//
//	seconds minutes hours day-of-month month day-of-week [year]
//
// robfig/cron reads 5-field Unix expressions but not these: it has no
// year field, no L, W or #, and numbers the days of the week from 0 =
// Sunday where Quartz has 1 = SUN to 7 = SAT. So Ferry parses them here,
// following Quartz's documented rules:
//   - exactly one of day-of-month and day-of-week is '?' (no specific
//     value); Quartz refuses an expression that restricts both or neither;
//   - day-of-month also takes L (the last day), L-n (n days before it), LW
//     (the last weekday) and nW (the weekday nearest day n, within the
//     month); each stands alone in its field;
//   - day-of-week also takes L alone (7, Saturday), nL (the last weekday n
//     of the month) and n#k (the k-th weekday n of the month);
//   - a/b steps from a to the field's maximum; a range whose end is below
//     its start wraps around (FRI-MON, 22-2);
//   - months and days of the week may be named (JAN, MON), any case;
//   - years run from 1970 to 2099.

// quartzSchedule is a parsed Quartz expression. It computes run times on
// the wall clock of the time it is given, like robfig's SpecSchedule, so
// store.Schedule applies one daylight saving policy to both forms.
type quartzSchedule struct {
	second, minute, hour, month, year bitset
	dow                               bitset // 0 = Sunday, as time.Weekday
	dom                               bitset // 1-31
	hourStar                          bool   // the hours field was *
	dayOfWeek                         bool   // days are chosen by day-of-week (day-of-month is ?)
	domSpecial                        domRule
	domN                              int // L-n's n, or nW's n
	dowSpecial                        dowRule
	dowN                              int // the k of n#k
}

type domRule int

const (
	domSet         domRule = iota
	domLast                // L or L-n
	domLastWeekday         // LW
	domNearWeekday         // nW
)

type dowRule int

const (
	dowSet  dowRule = iota
	dowLast         // nL
	dowNth          // n#k
)

// bitset holds small integers: seconds, days, and years as offsets from
// minQuartzYear.
type bitset [3]uint64

func (b *bitset) set(i int)     { b[i/64] |= 1 << (i % 64) }
func (b bitset) has(i int) bool { return i >= 0 && i < 192 && b[i/64]&(1<<(i%64)) != 0 }

const (
	minQuartzYear = 1970
	maxQuartzYear = 2099
)

// quartzField describes one field: its name in error messages, its range
// and its value names.
type quartzField struct {
	name     string
	min, max int
	names    []string // names[i] is the value min+i
}

var (
	fieldSecond = quartzField{name: "seconds", min: 0, max: 59}
	fieldMinute = quartzField{name: "minutes", min: 0, max: 59}
	fieldHour   = quartzField{name: "hours", min: 0, max: 23}
	fieldDOM    = quartzField{name: "day-of-month", min: 1, max: 31}
	fieldMonth  = quartzField{name: "month", min: 1, max: 12,
		names: []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}}
	fieldDOW  = quartzField{name: "day-of-week", min: 1, max: 7, names: []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}}
	fieldYear = quartzField{name: "year", min: minQuartzYear, max: maxQuartzYear}
)

// parseQuartz parses a 6- or 7-field Quartz expression. Errors name the
// field that is wrong.
func parseQuartz(expr string) (*quartzSchedule, error) {
	f := strings.Fields(expr)
	if len(f) != 6 && len(f) != 7 {
		return nil, fmt.Errorf("a Quartz expression has 6 or 7 fields, got %d", len(f))
	}
	if len(f) == 6 {
		f = append(f, "*")
	}
	q := &quartzSchedule{hourStar: f[2] == "*"}
	sets := []struct {
		field quartzField
		into  *bitset
		text  string
		shift int
	}{
		{fieldSecond, &q.second, f[0], 0}, {fieldMinute, &q.minute, f[1], 0}, {fieldHour, &q.hour, f[2], 0},
		{fieldMonth, &q.month, f[4], 0}, {fieldYear, &q.year, f[6], -minQuartzYear},
	}
	for _, s := range sets {
		if err := parseList(s.field, s.text, s.into, s.shift); err != nil {
			return nil, err
		}
	}
	domAny, dowAny := f[3] == "?", f[5] == "?"
	if domAny == dowAny {
		return nil, fmt.Errorf("day-of-month and day-of-week: exactly one of them must be ? (Quartz cannot restrict both, e.g. \"0 0 12 * * ?\" or \"0 0 12 ? * MON\")")
	}
	q.dayOfWeek = domAny
	if domAny {
		return q, q.parseDOW(f[5])
	}
	return q, q.parseDOM(f[3])
}

// parseDOM reads the day-of-month field: a list, or one of L, L-n, LW, nW.
func (q *quartzSchedule) parseDOM(s string) error {
	u := strings.ToUpper(s)
	switch {
	case u == "L":
		q.domSpecial = domLast
	case strings.HasPrefix(u, "L-"):
		n, err := strconv.Atoi(u[2:])
		if err != nil || n < 0 || n > 30 {
			return fmt.Errorf("day-of-month: %q: the offset from the last day (L-n) must be 0 to 30", s)
		}
		q.domSpecial, q.domN = domLast, n
	case u == "LW":
		q.domSpecial = domLastWeekday
	case strings.HasSuffix(u, "W"):
		n, err := strconv.Atoi(u[:len(u)-1])
		if err != nil || n < 1 || n > 31 {
			return fmt.Errorf("day-of-month: %q: W takes one day, 1 to 31 (as in 15W)", s)
		}
		q.domSpecial, q.domN = domNearWeekday, n
	case strings.ContainsAny(u, "LW"):
		return fmt.Errorf("day-of-month: %q: L and W stand alone in the field (L, L-3, LW, 15W)", s)
	default:
		return parseList(fieldDOM, s, &q.dom, 0)
	}
	return nil
}

// parseDOW reads the day-of-week field: a list, or one of L, nL, n#k.
// Days are stored as time.Weekday numbers (Quartz's minus one).
func (q *quartzSchedule) parseDOW(s string) error {
	u := strings.ToUpper(s)
	if u == "L" {
		q.dow.set(int(time.Saturday))
		return nil
	}
	if day, k, ok := strings.Cut(u, "#"); ok {
		d, err := parseValue(fieldDOW, day)
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(k)
		if err != nil || n < 1 || n > 5 {
			return fmt.Errorf("day-of-week: %q: the k of n#k must be 1 to 5", s)
		}
		q.dow.set(d - 1)
		q.dowSpecial, q.dowN = dowNth, n
		return nil
	}
	if strings.HasSuffix(u, "L") {
		d, err := parseValue(fieldDOW, u[:len(u)-1])
		if err != nil {
			return err
		}
		q.dow.set(d - 1)
		q.dowSpecial = dowLast
		return nil
	}
	return parseList(fieldDOW, s, &q.dow, -1)
}

// parseList reads a comma-separated list of *, values, ranges and steps
// into set, each value shifted by shift.
func parseList(f quartzField, s string, set *bitset, shift int) error {
	for item := range strings.SplitSeq(s, ",") {
		if err := parseItem(f, item, set, shift); err != nil {
			return err
		}
	}
	return nil
}

func parseItem(f quartzField, item string, set *bitset, shift int) error {
	base, stepText, hasStep := strings.Cut(item, "/")
	step := 1
	if hasStep {
		n, err := strconv.Atoi(stepText)
		if err != nil || n < 1 || n > f.max-f.min+1 {
			return fmt.Errorf("%s: %q: the step after / must be 1 to %d", f.name, item, f.max-f.min+1)
		}
		step = n
	}
	lo, hi := f.min, f.max
	switch {
	case base == "*":
	case base == "?":
		return fmt.Errorf("%s: ? is only for day-of-month or day-of-week", f.name)
	case strings.Contains(base, "-"):
		a, b, _ := strings.Cut(base, "-")
		var err error
		if lo, err = parseValue(f, a); err != nil {
			return err
		}
		if hi, err = parseValue(f, b); err != nil {
			return err
		}
		if hi < lo { // wraps around: FRI-MON, 22-2
			hi += f.max - f.min + 1
		}
	default:
		v, err := parseValue(f, base)
		if err != nil {
			return err
		}
		lo = v
		if !hasStep {
			hi = v // a single value; with a step it runs to the maximum
		}
	}
	for v := lo; v <= hi; v += step {
		w := v
		if w > f.max {
			w -= f.max - f.min + 1
		}
		set.set(w + shift)
	}
	return nil
}

// parseValue reads one number or name of field f.
func parseValue(f quartzField, s string) (int, error) {
	for i, n := range f.names {
		if strings.EqualFold(s, n) {
			return f.min + i, nil
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		if s == "" {
			return 0, fmt.Errorf("%s: a value is missing", f.name)
		}
		return 0, fmt.Errorf("%s: %q is not a number%s", f.name, s, nameHint(f))
	}
	if v < f.min || v > f.max {
		return 0, fmt.Errorf("%s: %d is out of range %d-%d%s", f.name, v, f.min, f.max, nameHint(f))
	}
	return v, nil
}

func nameHint(f quartzField) string {
	switch {
	case f.name == fieldDOW.name:
		return " (1 = SUN to 7 = SAT, or the names SUN-SAT)"
	case len(f.names) > 0:
		return " (or the names " + f.names[0] + "-" + f.names[len(f.names)-1] + ")"
	}
	return ""
}
