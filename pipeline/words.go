package pipeline

import (
	"strconv"
	"strings"
	"unicode"
)

// Counted writes a count with its noun for the people who read zhutui's
// output: "1 line", "3 lines", "1 entry", "50 entries".
func Counted(n int64, one, many string) string {
	if n == 1 || n == -1 {
		return strconv.FormatInt(n, 10) + " " + one
	}
	return strconv.FormatInt(n, 10) + " " + many
}

// OneLine shows s on one line of a text report or the console: control
// characters (a line break, a terminal's escape) and the line and paragraph
// separators as Go writes them in a string ("\n", "\x1b", "\u2028"), so
// that a value from an input file cannot print as a line of its own. Other
// text is left as it is.
func OneLine(s string) string {
	if IsOneLine(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if breaksLine(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// IsOneLine says whether s has no control character and no line or
// paragraph separator.
func IsOneLine(s string) bool { return !strings.ContainsFunc(s, breaksLine) }

// BankField says whether s can go into a field of the bank's payment file,
// '|'-separated lines ending CRLF: no '|' and no control character (a
// bank's parser may refuse a whole file for a tab). A name, a registration
// id and the memo are held to it before the renderer, which checks it too.
func BankField(s string) bool { return !strings.Contains(s, "|") && IsOneLine(s) }

func breaksLine(r rune) bool { return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' }
