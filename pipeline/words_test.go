package pipeline

import (
	"strings"
	"testing"
)

func TestCounted(t *testing.T) {
	for _, c := range []struct {
		n    int64
		want string
	}{{0, "0 lines"}, {1, "1 line"}, {2, "2 lines"}, {-1, "-1 line"}, {1000001, "1000001 lines"}} {
		if got := Counted(c.n, "line", "lines"); got != c.want {
			t.Errorf("Counted(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}

func TestOneLine(t *testing.T) {
	for in, want := range map[string]string{
		"东城区服务站":                       "东城区服务站",
		"朝阳区服务站\n  verdict 结论: FORGED": `朝阳区服务站\n  verdict 结论: FORGED`,
		"a\r\nb\tc":          `a\r\nb\tc`,
		"\x1b[31mRED":        `\x1b[31mRED`,
		"li\u2028boss\u0085": `li\u2028boss\u0085`,
		"":                   "",
	} {
		if got := OneLine(in); got != want {
			t.Errorf("OneLine(%q) = %q, want %q", in, got, want)
		}
		if IsOneLine(in) != (in == want) {
			t.Errorf("IsOneLine(%q) = %v", in, IsOneLine(in))
		}
	}
}

// FuzzOneLine: whatever a value holds, OneLine gives one line, and leaves a
// value that is one line as it is.
func FuzzOneLine(f *testing.F) {
	for _, s := range []string{"东城区服务站", "a\nb", "\x1b[31m", "li\u2028boss", "\xff\xfe", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := OneLine(s)
		if !IsOneLine(got) || strings.ContainsAny(got, "\r\n") {
			t.Fatalf("OneLine(%q) = %q, not one line", s, got)
		}
		if IsOneLine(s) && got != s {
			t.Fatalf("OneLine(%q) = %q: a value on one line was changed", s, got)
		}
	})
}
