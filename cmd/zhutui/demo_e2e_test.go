package main_test

import (
	"archive/zip"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDemo runs what `make demo` runs, in a folder given by a relative path
// that does not exist yet: every night reconciles, the ledger verifies, the
// payment and SMS files reach their SFTP folders (the bank returning two
// payments). A second demo in the same folder, or one in any folder that
// holds a file, is refused.
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

	// The bank returns two of the eleven payments.
	if !regexp.MustCompile(`(?m)^  PAID +9 +15000\.00 yuan$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^  RETURNED +2 +4000\.00 yuan$`).MatchString(out) {
		t.Errorf("night 2 does not show 9 paid and 2 returned:\n%s", out)
	}
	// The registration export is a local folder; the appraisal centre, the
	// bank and the SMS platform are reached over SFTP, with a key only
	// zhutui's user may read.
	cfg := string(w.read("demo/zhutui.toml"))
	for _, key := range []string{"certificates", "payments", "results", "sms"} {
		if !strings.Contains(cfg, key+` = "sftp://zhutui@127.0.0.1:`) {
			t.Errorf("the demo's %s are not reached over SFTP:\n%s", key, cfg)
		}
	}
	if !strings.Contains(cfg, `registrations = "file://`+w.path("demo/registration-system/export")+`"`) {
		t.Errorf("the demo's registrations are not the local export folder:\n%s", cfg)
	}
	if fi, err := os.Stat(w.path("demo/id_ed25519")); err != nil {
		t.Error(err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("the demo's SSH key has mode %v, want 0600", fi.Mode())
	}

	// A folder with anything in it is refused, before anything is written.
	_, errs, code = w.zhutui("demo", "--dir", "demo")
	if code != 2 || !strings.Contains(errs, "the folder is not empty") {
		t.Errorf("a second demo in the same folder: exit %d, %s", code, errs)
	}
	if err := os.MkdirAll(w.path("notes"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.path("notes", "todo.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errs, code = w.zhutui("demo", "--dir", "notes")
	if entries, _ := os.ReadDir(w.path("notes")); code != 2 || !strings.Contains(errs, "the folder is not empty") || len(entries) != 1 {
		t.Errorf("a demo in a folder holding one file: exit %d, %d entries after, %s", code, len(entries), errs)
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
