package main_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"zhutui/fixtures/bank"
)

// TestReportStateEndToEnd shows that a night's registrations.csv, built from
// the last report's state and the registrations changed since, has the same
// bytes as one read from every registration (`zhutui report --out`, which
// keeps no state), through batches approved and rejected, new registrations,
// the bank's returns, a damaged state and a night with nothing new.
func TestReportStateEndToEnd(t *testing.T) {
	w := emptyWorkdir(t)
	if err := os.WriteFile(w.path("zhutui.toml"), []byte(testConfig+"max_lines = 100\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w.ok("init")
	night := 0
	// deliver puts generated registrations and certificates in the inbox.
	deliver := func(first, n int) {
		gen := t.TempDir()
		w.ok("gen", "--registrations", fmt.Sprint(n), "--first", fmt.Sprint(first), "--out", gen)
		copyFile(t, filepath.Join(gen, "registrations.csv"), w.path("inbox/registrations", fmt.Sprintf("r%d.csv", first)))
		copyFile(t, filepath.Join(gen, "certificates.csv"), w.path("inbox/certificates", fmt.Sprintf("c%d.csv", first)))
	}
	// run runs a night and checks how its report read the registrations
	// and that they are what a report from every registration says.
	run := func(how string) {
		t.Helper()
		night++
		_, errs, code := w.zhutui("-v", "run", "--as-of", fmt.Sprintf("2015-01-%02d", 10+night))
		if code != 0 {
			t.Fatalf("night %d: exit %d\n%s", night, code, errs)
		}
		if !strings.Contains(errs, how) {
			t.Errorf("night %d: the log does not say %q:\n%s", night, how, errs)
		}
		full := t.TempDir()
		w.ok("report", "--run", fmt.Sprint(night), "--out", full)
		for _, name := range []string{"registrations.csv", "summary.csv"} {
			got := w.read("reports", fmt.Sprintf("run-%d", night), name)
			want, err := os.ReadFile(filepath.Join(full, fmt.Sprintf("run-%d", night), name))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("night %d: %s differs from the one read from every registration:\n%s\n---\n%s",
					night, name, got, want)
			}
		}
	}

	deliver(1, 400)
	run(`from="every registration (no state yet)"`)
	w.ok("batch", "approve", "B2015011101", "--by", "finance-li")
	w.ok("batch", "approve", "B2015011102", "--by", "finance-li")
	w.ok("batch", "reject", "B2015011103", "--by", "finance-li", "--reason", "test")
	// Its payments are payable again and wait for the next batch stage.
	rejected := regexp.MustCompile(`(\d+) lines, ([\d.]+) yuan`).FindStringSubmatch(w.ok("batch", "show", "B2015011103"))
	if st := w.ok("status"); rejected == nil || !strings.Contains(st, fmt.Sprintf("payable, not in a batch yet: %s payments, %s yuan", rejected[1], rejected[2])) {
		t.Errorf("status does not show the rejected batch's %v payments waiting:\n%s", rejected, st)
	}
	deliver(401, 50)
	// R5 moves to another station and nothing else: its line is the same,
	// the tallies by station are not.
	lines := strings.Split(string(w.read("inbox/registrations/r1.csv")), "\n")
	var r5 string
	for _, l := range lines {
		if strings.HasPrefix(l, "R5,") {
			r5 = l
		}
	}
	f := strings.Split(r5, ",")
	station := "延庆区服务站" + f[11]
	f[1], f[11] = "2015-01-11 08:00:00", station
	if err := os.WriteFile(w.path("inbox/registrations/r5.csv"), []byte(lines[0]+"\n"+strings.Join(f, ",")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run(`from="state and `)
	if !strings.Contains(string(w.read("reports/run-2/summary.csv")), station) {
		t.Errorf("night 2's summary does not count R5's new station")
	}

	// The bank pays the first batch but two lines.
	pay := w.read("outbox/payments/ZTPAY_B2015011101.txt")
	name, result, err := bank.Answer(pay, map[string]bank.Failure{"R1-1": bank.AccountClosed, "R10-1": bank.NameMismatch})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.path("inbox/results", name), result, 0o644); err != nil {
		t.Fatal(err)
	}
	run(`from="state and `)
	if !bytes.Contains(w.read("reports/run-3/registrations.csv"), []byte("\nR1,RETURNED,")) {
		t.Errorf("R1 is not RETURNED in night 3's registrations.csv")
	}

	// A damaged state is not used.
	state := w.path("reports/.state/registrations.csv")
	b, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(state, bytes.Replace(b, []byte("PAID"), []byte("SENT"), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	run("is not the one recorded")

	// A report written elsewhere leaves the state alone.
	w.ok("report", "--out", t.TempDir())
	run(`from="state and 0 changes noted since"`)
}
