package pipeline_test

import (
	"strings"
	"testing"
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
