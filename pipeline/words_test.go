package pipeline

import "testing"

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
