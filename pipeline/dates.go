package pipeline

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // Asia/Shanghai must resolve on machines without a zoneinfo database
)

// Beijing is Asia/Shanghai, the time zone of every time and date exchanged.
var Beijing = mustLocation("Asia/Shanghai")

func mustLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// TimeLayout and DateLayout are the canonical forms used in the database and
// in reports.
const (
	TimeLayout = "2006-01-02 15:04:05"
	DateLayout = "2006-01-02"
)

var dateLayouts = []string{"2006-1-2", "2006/1/2", "2006年1月2日"}
var timeLayouts = []string{"2006-1-2 15:04:05", "2006/1/2 15:04:05", "2006-1-2T15:04:05"}

// ParseDate reads a date as YYYY-MM-DD, YYYY/MM/DD (months and days may drop
// their leading zero) or YYYY年M月D日, after NormalizeText. It returns
// midnight Beijing time.
func ParseDate(s string) (time.Time, error) {
	s = NormalizeText(s)
	for _, l := range dateLayouts {
		if t, err := time.ParseInLocation(l, s, Beijing); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date (want YYYY-MM-DD)", s)
}

// ParseTime reads a Beijing local time as YYYY-MM-DD HH:MM:SS (also with
// slashes).
func ParseTime(s string) (time.Time, error) {
	s = NormalizeText(s)
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, s, Beijing); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time (want YYYY-MM-DD HH:MM:SS)", s)
}

// FormatTime writes t in Beijing time in the canonical layout.
func FormatTime(t time.Time) string { return t.In(Beijing).Format(TimeLayout) }

// FormatDate writes the Beijing calendar date of t.
func FormatDate(t time.Time) string { return t.In(Beijing).Format(DateLayout) }

// PeriodEnd returns the last instant of a period of the given number of months
// starting with the event on day, counted as the PRC Civil Code arts. 201-202
// say: the day of the event is not counted, and the period ends on the day of
// the last month that corresponds to the event's day, or on that month's last
// day where there is none (2013-10-31 plus six months ends 2014-04-30). The
// period runs through 23:59:59 Beijing time of that day.
func PeriodEnd(day Date, months int) time.Time {
	y, m, d := day.t.Date()
	first := time.Date(y, m+time.Month(months), 1, 0, 0, 0, 0, Beijing)
	last := first.AddDate(0, 1, -1).Day()
	if d > last {
		d = last
	}
	return time.Date(first.Year(), first.Month(), d, 23, 59, 59, 0, Beijing)
}

// Date is a calendar date in Beijing, the zero Date meaning none.
// It is kept apart from time.Time so that dates compare by day, never by instant.
type Date struct{ t time.Time }

// DateOf returns the calendar date of t in Beijing.
func DateOf(t time.Time) Date {
	y, m, d := t.In(Beijing).Date()
	return Date{time.Date(y, m, d, 0, 0, 0, 0, Beijing)}
}

// MustDate parses a canonical date and panics if it is not one. For tests and
// built-in data.
func MustDate(s string) Date {
	t, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return DateOf(t)
}

// IsZero reports whether d is no date.
func (d Date) IsZero() bool { return d.t.IsZero() }

// Time returns midnight of d in Beijing.
func (d Date) Time() time.Time { return d.t }

// Before reports whether d is an earlier day than e.
func (d Date) Before(e Date) bool { return d.t.Before(e.t) }

// String returns d as YYYY-MM-DD, or "" for no date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return d.t.Format(DateLayout)
}

// MarshalText and UnmarshalText make Date usable in TOML and CSV.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads a date in any layout ParseDate accepts.
func (d *Date) UnmarshalText(b []byte) error {
	if strings.TrimSpace(string(b)) == "" {
		*d = Date{}
		return nil
	}
	t, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = DateOf(t)
	return nil
}
