package pipeline

import (
	"fmt"
	"strconv"

	"github.com/shopspring/decimal"
)

// Money is held as decimal.Decimal in Go and as integer fen (1/100 yuan) in
// the database; it never touches float64.

var hundred = decimal.NewFromInt(100)

// ParseAmount reads an amount in yuan with at most two decimal places.
func ParseAmount(s string) (decimal.Decimal, error) {
	d, err := decimal.NewFromString(NormalizeText(s))
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("%q is not an amount", s)
	}
	if !d.Equal(d.Round(2)) {
		return decimal.Decimal{}, fmt.Errorf("%q has more than two decimal places", s)
	}
	return d, nil
}

// Fen converts an amount in yuan to integer fen. The amount must have at most
// two decimal places (ParseAmount and the programme guarantee it).
func Fen(yuan decimal.Decimal) int64 { return yuan.Mul(hundred).IntPart() }

// Yuan converts integer fen to an amount in yuan.
func Yuan(fen int64) decimal.Decimal { return decimal.New(fen, -2) }

// FormatFen writes integer fen in the 0.00 form of the files and reports.
// It is called for every line of every report, so it formats the integer
// itself (the test compares it with decimal's StringFixed(2)).
func FormatFen(fen int64) string {
	var buf [24]byte
	return string(AppendFen(buf[:0], fen))
}

// AppendFen appends FormatFen(fen) to b.
func AppendFen(b []byte, fen int64) []byte {
	u := uint64(fen)
	if fen < 0 {
		b = append(b, '-')
		u = -u
	}
	b = strconv.AppendUint(b, u/100, 10)
	return append(b, '.', byte('0'+u%100/10), byte('0'+u%10))
}
