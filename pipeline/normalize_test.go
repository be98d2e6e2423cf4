package pipeline_test

import (
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"

	"zhutui/pipeline"
)

func TestNormalizers(t *testing.T) {
	tests := []struct {
		name string
		fn   func(string) string
		in   string
		want string
	}{
		{"text trims U+3000", pipeline.NormalizeText, "\u3000王芳 ", "王芳"},
		{"text full-width ASCII", pipeline.NormalizeText, "ＲＯ０１", "RO01"},
		{"text inner U+3000", pipeline.NormalizeText, "王\u3000芳", "王 芳"},
		{"id lower x", pipeline.NormalizeIDNumber, "11010819750315118x", "11010819750315118X"},
		{"id full-width", pipeline.NormalizeIDNumber, "１１０１０８１９７５０３１５１１８ｘ", "11010819750315118X"},
		{"name bullet", pipeline.NormalizeName, "阿依古丽•买买提", "阿依古丽·买买提"},
		{"name katakana dot", pipeline.NormalizeName, "阿依古丽・买买提", "阿依古丽·买买提"},
		{"name hyphenation point", pipeline.NormalizeName, "阿依古丽‧买买提", "阿依古丽·买买提"},
		{"name full-width stop", pipeline.NormalizeName, "阿依古丽．买买提", "阿依古丽·买买提"},
		{"occupation parens and spaces", pipeline.NormalizeOccupation, " 汽车（拖拉机） 装配工 ", "汽车(拖拉机)装配工"},
		{"occupation ideographic space", pipeline.NormalizeOccupation, "汽车\u3000(拖拉机)装配工", "汽车(拖拉机)装配工"},
		{"mobile +86 and hyphens", pipeline.NormalizeMobile, "+86 139-1234-5678", "13912345678"},
		{"mobile 86", pipeline.NormalizeMobile, "8613912345678", "13912345678"},
		{"mobile full-width", pipeline.NormalizeMobile, "１３９１２３４５６７８", "13912345678"},
		{"mobile too short", pipeline.NormalizeMobile, "12345", ""},
		{"mobile not 1", pipeline.NormalizeMobile, "23912345678", ""},
		{"card spaces", pipeline.NormalizeCardNumber, "6210 6700-0000 0000 016", "6210670000000000016"},
		{"certificate number", pipeline.NormalizeCertificateNumber, " c 001 ", "C001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.fn(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestValidators(t *testing.T) {
	for _, tt := range []struct {
		id   string
		want bool
	}{
		{"110105198001010016", true},
		{"11010819750315118X", true},
		{"110105198001010017", false}, // check character
		{"110105198013010016", false}, // month 13
		{"110105180001010016", false}, // born 1800
		{"11010519800101001", false},
		{"11010519800101001a", false},
	} {
		if got := pipeline.ValidIDNumber(tt.id); got != tt.want {
			t.Errorf("ValidIDNumber(%s) = %v, want %v", tt.id, got, tt.want)
		}
	}
	for _, tt := range []struct {
		card string
		want bool
	}{
		{"6210670000000000016", true},
		{"4111111111111111", true}, // 16 digits
		{"6210670000000000017", false},
		{"411111111111111", false},      // 15 digits
		{"41111111111111111111", false}, // 20 digits
		{"621067000000000001a", false},
	} {
		if got := pipeline.ValidCardNumber(tt.card); got != tt.want {
			t.Errorf("ValidCardNumber(%s) = %v, want %v", tt.card, got, tt.want)
		}
	}
	if c := pipeline.LuhnCheckDigit("621067000000000001"); c != '6' {
		t.Errorf("LuhnCheckDigit = %c, want 6", c)
	}
	if c := pipeline.IDCheckChar("11010819750315118"); c != 'X' {
		t.Errorf("IDCheckChar = %c, want X", c)
	}
}

// TestValidatorEdges builds each number so that only the rule under test can
// reject it: the check character or digit is computed for the very characters
// the number holds, as the arithmetic would see them.
func TestValidatorEdges(t *testing.T) {
	withCheck := func(first17 string) string { return first17 + string(pipeline.IDCheckChar(first17)) }
	for _, tt := range []struct {
		id   string
		want bool
		why  string
	}{
		{withCheck("11010519000101001"), true, "born 1900-01-01, the first day accepted"},
		{withCheck("11010518991231001"), false, "born 1899-12-31"},
		{withCheck("A1010519800101001"), false, "a letter among the first 17 characters"},
		{withCheck("110105198001010 1"), false, "a space among the first 17 characters"},
	} {
		if got := pipeline.ValidIDNumber(tt.id); got != tt.want {
			t.Errorf("ValidIDNumber(%q) = %v, want %v: %s", tt.id, got, tt.want, tt.why)
		}
	}
	withLuhn := func(digits string) string { return digits + string(pipeline.LuhnCheckDigit(digits)) }
	for _, tt := range []struct {
		card string
		want bool
		why  string
	}{
		{"5555555555554444", true, "a published test card: doubled 5s make 10, which counts 1"},
		{"4012888888881881", true, "a published test card: doubled 8s make 16, which counts 7"},
		{"5555555555554445", false, "its last digit changed"},
		{withLuhn("621067000000000001"), true, "19 digits"},
		{withLuhn("6210670000000000012"), false, "20 digits, Luhn-valid"},
		{withLuhn("621067000000000"), true, "16 digits"},
		{withLuhn("62106700000000"), false, "15 digits, Luhn-valid"},
		// 'J' - '0' is 26: as a digit it would count 6, the check digit of
		// 621067000000000001, so only the digits check rejects it.
		{"621067000000000001J", false, "a letter that the Luhn sum alone would pass"},
	} {
		if got := pipeline.ValidCardNumber(tt.card); got != tt.want {
			t.Errorf("ValidCardNumber(%q) = %v, want %v: %s", tt.card, got, tt.want, tt.why)
		}
	}
}

// TestParseLayouts reads each layout ParseDate and ParseTime accept, and
// takes the calendar date of an instant in Beijing whatever its zone.
func TestParseLayouts(t *testing.T) {
	for _, s := range []string{"2013-10-01", "2013-10-1", "2013/10/01", "2013/10/1", "2013年10月1日", "２０１３-10-01", " 2013-10-01 "} {
		d, err := pipeline.ParseDate(s)
		if err != nil || pipeline.FormatTime(d) != "2013-10-01 00:00:00" {
			t.Errorf("ParseDate(%q) = %s, %v; want 2013-10-01 midnight Beijing", s, pipeline.FormatTime(d), err)
		}
	}
	for _, s := range []string{"2014-04-30 23:59:59", "2014-4-30 23:59:59", "2014/04/30 23:59:59", "2014-04-30T23:59:59"} {
		tm, err := pipeline.ParseTime(s)
		if err != nil || tm.UTC().Format(time.RFC3339) != "2014-04-30T15:59:59Z" {
			t.Errorf("ParseTime(%q) = %v, %v; want 2014-04-30 23:59:59 Beijing", s, tm, err)
		}
	}
	for _, s := range []string{"2013-13-01", "2013-02-30", "01/10/2013", "2013-10-01 25:00:00", ""} {
		if _, err := pipeline.ParseDate(s); err == nil {
			t.Errorf("ParseDate(%q) accepted", s)
		}
	}
	// 16:30 UTC is 00:30 the next day in Beijing.
	if got := pipeline.DateOf(time.Date(2013, 10, 31, 16, 30, 0, 0, time.UTC)).String(); got != "2013-11-01" {
		t.Errorf("DateOf(2013-10-31 16:30 UTC) = %s, want 2013-11-01", got)
	}
}

func TestMask(t *testing.T) {
	for _, tt := range []struct {
		fn       func(string) string
		in, want string
	}{
		{pipeline.MaskID, "11010519800101123X", "110105********123X"},
		{pipeline.MaskCard, "6210670000000004567", "621067*********4567"},
		{pipeline.MaskCard, "6210670000004567", "621067******4567"},
		{pipeline.MaskMobile, "13912345678", "139****5678"},
		{pipeline.MaskID, "12345", "***45"},
		{pipeline.MaskID, "123456789", "1****6789"}, // four hidden at least, the head gives way first
		{pipeline.MaskID, "", ""},
	} {
		if got := tt.fn(tt.in); got != tt.want {
			t.Errorf("mask(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzNormalize checks that the normalisers never panic, are idempotent, and
// keep the promises the rules and the bank file rely on.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"阿依古丽•买买提", "汽车（拖拉机） 装配工", "+86 139-1234-5678", "１１０１０８ｘ", "\u3000", "a|b", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for name, fn := range map[string]func(string) string{
			"text": pipeline.NormalizeText, "id": pipeline.NormalizeIDNumber, "name": pipeline.NormalizeName,
			"occupation": pipeline.NormalizeOccupation, "card": pipeline.NormalizeCardNumber,
			"certificate": pipeline.NormalizeCertificateNumber, "mobile": pipeline.NormalizeMobile,
		} {
			once := fn(s)
			if twice := fn(once); twice != once {
				t.Errorf("%s not idempotent: %q -> %q -> %q", name, s, once, twice)
			}
			if utf8.ValidString(s) && !utf8.ValidString(once) {
				t.Errorf("%s made invalid UTF-8 of %q", name, s)
			}
		}
		if pipeline.NormalizeText(s) != strings.TrimFunc(width.Fold.String(s), unicode.IsSpace) {
			t.Errorf("NormalizeText(%q) skipped a fold that changes it", s)
		}
		if o := pipeline.NormalizeOccupation(s); strings.ContainsAny(o, " \t（）") {
			t.Errorf("occupation %q keeps a space or a full-width parenthesis", o)
		}
		if m := pipeline.NormalizeMobile(s); m != "" && (len(m) != 11 || m[0] != '1') {
			t.Errorf("mobile %q is not 11 digits starting with 1", m)
		}
		if id := pipeline.NormalizeIDNumber(s); pipeline.ValidIDNumber(id) && len(id) != 18 {
			t.Errorf("valid ID %q is not 18 characters", id)
		}
		if c := pipeline.NormalizeCardNumber(s); pipeline.ValidCardNumber(c) && (len(c) < 16 || len(c) > 19) {
			t.Errorf("valid card %q is not 16-19 digits", c)
		}
		if n := pipeline.NormalizeName(s); strings.ContainsAny(n, "•・‧．") {
			t.Errorf("name %q keeps a middle-dot variant", n)
		}
	})
}

// FuzzParseDate checks that dates and times never panic and that what is
// accepted prints back to something that parses to the same instant.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2013-10-01", "2013/10/1", "2013年10月1日", "2014-04-30 23:59:59", "2014/4/30 23:59:59", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := pipeline.ParseDate(s); err == nil {
			back, err := pipeline.ParseDate(pipeline.FormatDate(d))
			if err != nil || !back.Equal(d) {
				t.Errorf("date %q -> %s does not read back", s, pipeline.FormatDate(d))
			}
		}
		if tm, err := pipeline.ParseTime(s); err == nil {
			back, err := pipeline.ParseTime(pipeline.FormatTime(tm))
			if err != nil || !back.Equal(tm) {
				t.Errorf("time %q -> %s does not read back", s, pipeline.FormatTime(tm))
			}
		}
	})
}
