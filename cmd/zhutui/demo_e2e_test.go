package main_test

import (
	"archive/zip"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemo runs what `make demo` runs, in a folder given by a relative path
// that does not exist yet: every night reconciles, the ledger verifies, the
// payment and SMS files reach their SFTP folders. A second demo in the same
// folder is refused.
func TestDemo(t *testing.T) {
	w := emptyWorkdir(t)
	out, errs, code := w.zhutui("-v", "--log-format", "json", "demo", "--dir", "demo")
	if code != 0 {
		t.Fatalf("demo: exit %d\n%s\n%s", code, out, errs)
	}
	if n := strings.Count(out, "verdict: RECONCILED"); n != 3 {
		t.Errorf("%d nights RECONCILED, want 3:\n%s", n, out)
	}
	if !strings.Contains(out, "verified: the chain, the balances and the payment states agree") {
		t.Errorf("the ledger did not verify:\n%s", out)
	}
	if s := string(w.read("demo/reports/run-3/summary.txt")); !strings.Contains(s, "verdict 结论: RECONCILED\n") {
		t.Errorf("run 3's report:\n%s", s)
	}
	for _, pattern := range []string{"demo/sftp/bank/in/ZTPAY_B2014020101.txt", "demo/sftp/bank/in/ZTPAY_B2014020101.txt.sha256",
		"demo/sftp/sms-platform/in/ZTSMS_B2014020101_*.csv"} {
		if m, _ := filepath.Glob(w.path(pattern)); len(m) == 0 {
			t.Errorf("no %s", pattern)
		}
	}

	// No full ID, card or mobile number in the output, the logs (every
	// stage, verbose) or any report file; only the payment file carries
	// cards, the SMS file mobiles.
	secrets := personalNumbers(t)
	texts := map[string]string{"stdout": out, "stderr": errs}
	reports, _ := filepath.Glob(w.path("demo/reports/run-*/*"))
	for _, p := range reports {
		texts[p] = string(w.read(p[len(w.dir)+1:]))
		if strings.HasSuffix(p, ".xlsx") { // its sheets, unzipped
			texts[p] = unzipped(t, p)
		}
	}
	for name, text := range texts {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s holds the full number %s", name, s)
			}
		}
	}
	if len(reports) != 3*9 {
		t.Errorf("read %d report files, want the nine of each of three runs", len(reports))
	}

	_, errs, code = w.zhutui("demo", "--dir", "demo")
	if code != 2 || !strings.Contains(errs, "the folder is not empty") {
		t.Errorf("a second demo in the same folder: exit %d, %s", code, errs)
	}
}

// personalNumbers returns the ID, card and mobile numbers of the sample
// registrations, as typed and as digits only.
func personalNumbers(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, night := range []string{"night1", "night2"} {
		rows := readCSV(t, filepath.Join(samples, night, "registrations.csv"))
		col := map[string]int{}
		for i, h := range rows[0] {
			col[strings.TrimPrefix(h, "\ufeff")] = i
		}
		for _, r := range rows[1:] {
			for _, field := range []string{"id_number", "card_number", "mobile"} {
				v := r[col[field]]
				digits := strings.Map(func(c rune) rune {
					if c >= '0' && c <= '9' || c == 'X' || c == 'x' {
						return c
					}
					return -1
				}, v)
				if field == "mobile" && len(digits) > 11 {
					digits = digits[len(digits)-11:] // +86 …
				}
				if len(digits) >= 11 {
					out = append(out, digits)
				}
			}
		}
	}
	if len(out) < 60 {
		t.Fatalf("only %d personal numbers in the samples", len(out))
	}
	return out
}

// unzipped returns every file of a zip archive, one after the other.
func unzipped(t *testing.T, path string) string {
	t.Helper()
	z, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	var b strings.Builder
	for _, f := range z.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(&b, r); err != nil {
			t.Fatal(err)
		}
		r.Close()
	}
	return b.String()
}
