package pipeline

import "strconv"

// Counted writes a count with its noun for the people who read zhutui's
// output: "1 line", "3 lines", "1 entry", "50 entries".
func Counted(n int64, one, many string) string {
	if n == 1 || n == -1 {
		return strconv.FormatInt(n, 10) + " " + one
	}
	return strconv.FormatInt(n, 10) + " " + many
}
