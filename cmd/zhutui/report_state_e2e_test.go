package main_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"zhutui/fixtures/bank"
	"zhutui/pipeline"
)

// TestReportStateEndToEnd shows that a night's registrations.csv and
// exceptions.csv, built from the last report's state and the registrations
// changed since, have the same bytes as those read from every registration
// (`zhutui report --out`, which keeps no state), through batches approved and
// rejected, new registrations, the bank's returns, a damaged state, a night
// with nothing new, and a certificate whose first registration changes, which
// changes the lines of a registration that did not change itself.
func TestReportStateEndToEnd(t *testing.T) {
	w := workdirWith(t, testConfig+"max_lines = 100\n")
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
		if how := regexp.MustCompile(`"exceptions read" from="([^"]*)"`).FindStringSubmatch(errs); how == nil ||
			night > 1 && !strings.HasPrefix(how[1], "state and ") && !strings.Contains(how[1], "is not the one recorded") {
			t.Errorf("night %d: exceptions read %v, want from the state:\n%s", night, how, errs)
		}
		full := t.TempDir()
		w.ok("report", "--run", fmt.Sprint(night), "--out", full)
		for _, name := range []string{"registrations.csv", "exceptions.csv", "summary.csv"} {
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

	// The bank pays the first batch but its first two lines.
	pay := w.read("outbox/payments/ZTPAY_B2015011101.txt")
	refs := regexp.MustCompile(`(?m)^D\|00000[12]\|((R\d+)-1)\|`).FindAllSubmatch(pay, -1)
	if len(refs) != 2 {
		t.Fatalf("the first batch's first two lines: %q", refs)
	}
	name, result, err := bank.Answer(pay, map[string]bank.Failure{string(refs[0][1]): bank.AccountClosed, string(refs[1][1]): bank.NameMismatch})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.path("inbox/results", name), result, 0o644); err != nil {
		t.Fatal(err)
	}
	run(`from="state and `)
	if returned := "\n" + string(refs[0][2]) + ",RETURNED,"; !bytes.Contains(w.read("reports/run-3/registrations.csv"), []byte(returned)) {
		t.Errorf("%s is not RETURNED in night 3's registrations.csv", refs[0][2])
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
	// So is a damaged state of the exceptions, the other file being sound.
	state = w.path("reports/.state/exceptions.csv")
	if b, err = os.ReadFile(state); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(state, bytes.Replace(b, []byte("NAME_MISMATCH"), []byte("ID_MISMATCH"), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	run(`"exceptions read" from="every registration (state ` + state + ` is not the one recorded)"`)

	// A report written elsewhere leaves the state alone, and keeps none.
	elsewhere := t.TempDir()
	w.ok("report", "--out", elsewhere)
	if _, err := os.Stat(filepath.Join(elsewhere, ".state")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a report written elsewhere kept a state there (%v)", err)
	}
	run(`from="state and 0 changes noted since"`)

	// W, first of its certificate, waits in a batch not yet approved. More
	// registrations come: X0 of W's certificate, submitted a second before
	// W, and with W: X1 of W's certificate, X2 of W's certificate with
	// another member's ID number, and X3 of W's ID number with another
	// member's certificate. X0, X1 and X2 lose to W for the certificate, X1
	// and X3 for the person and level (X2 and X3 lose to the other member
	// too, for its person and its certificate).
	regs := string(w.read("reports", fmt.Sprintf("run-%d", night), "registrations.csv"))
	held := regexp.MustCompile(`(?m)^(R\d+),BATCHED,[^,]*,,[^,]*,(B2015011201)$`).FindStringSubmatch(regs)
	if held == nil {
		t.Fatalf("no registration waits in batch B2015011201:\n%s", regs)
	}
	first := held[1]
	var wRow, other []string
	for _, name := range []string{"r1.csv", "r401.csv"} {
		for _, l := range strings.Split(string(w.read("inbox/registrations", name)), "\n") {
			if strings.HasPrefix(l, first+",") {
				wRow = strings.Split(l, ",")
			}
		}
	}
	// The other member is paid, so that nothing of its own is noted later.
	paid := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^(R\d+),PAID,`).FindAllStringSubmatch(regs, -1) {
		paid[m[1]] = true
	}
	for _, l := range lines[1:] {
		if f := strings.Split(l, ","); paid[f[0]] && f[4] != wRow[4] && f[7] != wRow[7] && f[9] == wRow[9] {
			other = f
			break
		}
	}
	if other == nil {
		t.Fatalf("no paid registration of level %s", wRow[9])
	}
	submitted, err := time.Parse(time.DateTime, wRow[2])
	if err != nil {
		t.Fatal(err)
	}
	row := func(id string, change map[int]string) string {
		f := append([]string{id, "2015-01-16 08:00:00"}, wRow[2:]...)
		for i, v := range change {
			f[i] = v
		}
		return strings.Join(f, ",")
	}
	x := []string{lines[0],
		row("R9990", map[int]string{2: submitted.Add(-time.Second).Format(time.DateTime)}),
		row("R9991", nil),
		row("R9992", map[int]string{4: other[4]}),
		row("R9993", map[int]string{7: other[7]}),
	}
	if err := os.WriteFile(w.path("inbox/registrations/x.csv"), []byte(strings.Join(x, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// lost is X's line of code, naming the registration that came first.
	lost := func(x string, code pipeline.Status, first string) *regexp.Regexp {
		return regexp.MustCompile(`(?m)^` + x + `,[^,]*,[^,]*,` + string(code) + `,.*,first: ` + first + `$`)
	}
	losers := []struct {
		x    string
		code pipeline.Status
	}{
		{"R9990", pipeline.DuplicateCertificate}, {"R9991", pipeline.DuplicateCertificate},
		{"R9992", pipeline.DuplicateCertificate}, {"R9991", pipeline.PersonLevelLimit},
		{"R9993", pipeline.PersonLevelLimit},
	}
	run(`from="state and `)
	exc := string(w.read("reports", fmt.Sprintf("run-%d", night), "exceptions.csv"))
	for _, l := range losers {
		if !lost(l.x, l.code, first).MatchString(exc) {
			t.Errorf("night %d: %s does not lose to %s for %s:\n%s", night, l.x, first, l.code, exc)
		}
	}
	// W's batch is rejected: W no longer holds its place, and X0, submitted
	// first, comes first. The decisions of X1, X2 and X3 do not change, but
	// their lines name X0 now.
	w.ok("batch", "reject", "B2015011201", "--by", "finance-li", "--reason", "test")
	run(`from="state and `)
	exc = string(w.read("reports", fmt.Sprintf("run-%d", night), "exceptions.csv"))
	losers[0].x = first
	for _, l := range losers {
		if !lost(l.x, l.code, "R9990").MatchString(exc) {
			t.Errorf("night %d: %s does not lose to R9990 for %s:\n%s", night, l.x, l.code, exc)
		}
	}
}
