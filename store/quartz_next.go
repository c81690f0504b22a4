package store

import "time"

// searchYears bounds how far ahead a run time is looked for. A leap day
// can be eight years away (2096 to 2104), so ten years finds every
// expression that fires at all, and an expression with no run time within
// it is refused when it is written (Schedule.Validate).
const searchYears = 10

// Next returns the first time strictly after t that the expression
// matches, read on t's wall clock, or the zero time when there is none
// within searchYears.
//
// It walks from the largest field to the smallest, as robfig's
// SpecSchedule does: dates move by calendar (the start of the next day,
// month or year), but hours, minutes and seconds move by real time. That
// keeps the walk going forward through daylight saving changes: an hour
// the clocks skip is never seen, and an hour they repeat is seen twice,
// both of which Schedule.Next's policy then handles (see nextCron).
// Whenever a step carries into a larger field, the walk starts over from
// that field.
func (q *quartzSchedule) Next(t time.Time) time.Time {
	loc := t.Location()
	t = t.Truncate(time.Second).Add(time.Second)
	limit := t.Year() + searchYears
	for t.Year() <= limit {
		switch {
		case !q.year.has(t.Year() - minQuartzYear):
			t = startOfDay(t.Year()+1, time.January, 1, loc)
		case !q.month.has(int(t.Month())):
			t = startOfDay(t.Year(), t.Month()+1, 1, loc)
		case !q.dayMatches(t.Year(), t.Month(), t.Day()):
			t = startOfDay(t.Year(), t.Month(), t.Day()+1, loc)
		case !q.hour.has(t.Hour()):
			t = advance(t, startOfHour(t).Add(time.Hour), sameDay)
		case !q.minute.has(t.Minute()):
			t = advance(t, startOfMinute(t).Add(time.Minute), sameHour)
		case !q.second.has(t.Second()):
			t = t.Add(time.Second)
		default:
			return t
		}
	}
	return time.Time{}
}

// advance returns next, except that when it left the unit that from was
// in (the day, the hour), it returns the start of the new unit, so that
// the walk checks the larger fields again before it goes on.
func advance(from, next time.Time, same func(a, b time.Time) bool) time.Time {
	if same(from, next) {
		return next
	}
	if !sameDay(from, next) {
		return startOfDay(next.Year(), next.Month(), next.Day(), next.Location())
	}
	return startOfHour(next)
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}

func sameHour(a, b time.Time) bool { return sameDay(a, b) && a.Hour() == b.Hour() }

// startOfDay is the first instant of a day in loc (normalising an
// overflowing month or day as time.Date does). In a zone whose clocks
// jump over midnight, time.Date places the missing 00:00 on the day
// before; the day then starts when the clocks jump.
func startOfDay(y int, m time.Month, d int, loc *time.Location) time.Time {
	t := time.Date(y, m, d, 0, 0, 0, 0, loc)
	want := time.Date(y, m, d, 12, 0, 0, 0, loc)
	for i := 0; i < 4 && !sameDay(t, want); i++ {
		t = startOfHour(t).Add(time.Hour)
	}
	return t
}

// startOfHour and startOfMinute go back by real time, not by building a
// wall time, which in an hour the clocks repeat could land in its first
// pass while t is in its second.
func startOfHour(t time.Time) time.Time {
	return t.Add(-time.Duration(t.Minute())*time.Minute - time.Duration(t.Second())*time.Second - time.Duration(t.Nanosecond()))
}

func startOfMinute(t time.Time) time.Time {
	return t.Add(-time.Duration(t.Second())*time.Second - time.Duration(t.Nanosecond()))
}

// daysIn returns the number of days in month m of year y.
func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 12, 0, 0, 0, time.UTC).Day()
}

func weekday(y int, m time.Month, d int) time.Weekday {
	return time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Weekday()
}

// dayMatches reports whether the expression runs on the date, by
// day-of-week or by day-of-month, whichever is not '?'.
func (q *quartzSchedule) dayMatches(y int, m time.Month, d int) bool {
	last := daysIn(y, m)
	if q.dayOfWeek {
		wd := weekday(y, m, d)
		if !q.dow.has(int(wd)) {
			return false
		}
		switch q.dowSpecial {
		case dowLast:
			return d+7 > last
		case dowNth:
			return (d-1)/7+1 == q.dowN
		}
		return true
	}
	switch q.domSpecial {
	case domLast:
		return d == last-q.domN
	case domLastWeekday:
		return d == nearestWeekday(y, m, last, last)
	case domNearWeekday:
		return q.domN <= last && d == nearestWeekday(y, m, q.domN, last)
	}
	return q.dom.has(d)
}

// nearestWeekday is the Monday-to-Friday day closest to day n of the
// month, never leaving the month: a Saturday moves to the Friday before
// (or, on the 1st, to Monday the 3rd), a Sunday to the Monday after (or,
// on the last day, to the Friday before).
func nearestWeekday(y int, m time.Month, n, last int) int {
	switch weekday(y, m, n) {
	case time.Saturday:
		if n == 1 {
			return 3
		}
		return n - 1
	case time.Sunday:
		if n == last {
			return n - 2
		}
		return n + 1
	}
	return n
}
