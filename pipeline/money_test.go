package pipeline

import (
	"math"
	"testing"
)

// FormatFen formats by hand for speed; it must say exactly what decimal says.
func TestFormatFenAgreesWithDecimal(t *testing.T) {
	values := []int64{0, 1, -1, 9, 10, 99, 100, 101, -99, -100, -101, 199999, 200000, 100000000,
		-123456789, math.MaxInt64, math.MinInt64, math.MinInt64 + 1}
	for v := int64(1); v < math.MaxInt64/7; v = v*7 + 3 {
		values = append(values, v, -v)
	}
	for _, fen := range values {
		if got, want := FormatFen(fen), Yuan(fen).StringFixed(2); got != want {
			t.Errorf("FormatFen(%d) = %q, decimal says %q", fen, got, want)
		}
	}
}

func FuzzFormatFen(f *testing.F) {
	f.Add(int64(12345))
	f.Fuzz(func(t *testing.T, fen int64) {
		if got, want := FormatFen(fen), Yuan(fen).StringFixed(2); got != want {
			t.Errorf("FormatFen(%d) = %q, decimal says %q", fen, got, want)
		}
	})
}
