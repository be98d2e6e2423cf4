package report_test

import (
	"testing"

	"zhutui/connectors/report"
)

func TestCell(t *testing.T) {
	for in, want := range map[string]string{
		`=HYPERLINK("http://x","y")`: `'=HYPERLINK("http://x","y")`,
		"+1":                         "'+1",
		"-1":                         "'-1",
		"@SUM(A1)":                   "'@SUM(A1)",
		"\tx":                        "'\tx",
		"王芳":                         "王芳",
		"":                           "",
		"1000.00":                    "1000.00",
	} {
		if got := report.Cell(in); got != want {
			t.Errorf("Cell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMasked(t *testing.T) {
	for _, tt := range []struct{ field, in, want string }{
		{"id_number", "11010519800101123X", "110105********123X"},
		{"card_number", "6210670000000004567", "621067*********4567"},
		{"mobile", "13912345678", "139****5678"},
		{"name", "王芳", "王芳"},
	} {
		if got := report.Masked(tt.field, tt.in); got != tt.want {
			t.Errorf("Masked(%s, %q) = %q, want %q", tt.field, tt.in, got, tt.want)
		}
	}
}
