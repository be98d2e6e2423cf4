package main_test

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"zhutui/fixtures"
)

// TestProgrammeFileChanged: a run judges by the programme zhutui init loaded.
// When the configured programme file is edited afterwards, runs are refused
// until zhutui init loads it, rather than going on under the old rules.
func TestProgrammeFileChanged(t *testing.T) {
	w := workdirWith(t, "programme = \"programme.toml\"\n"+testConfig)
	if err := os.WriteFile(w.path("programme.toml"), fixtures.Programme2013, 0o644); err != nil {
		t.Fatal(err)
	}
	w.ok("init")
	w.ok("run", "--as-of", "2014-02-01")

	edited := append([]byte("# budget agreed on 2014-02-01\n"), fixtures.Programme2013...)
	if err := os.WriteFile(w.path("programme.toml"), edited, 0o644); err != nil {
		t.Fatal(err)
	}
	_, errs, code := w.zhutui("run", "--as-of", "2014-02-02")
	if code != 2 || !strings.Contains(errs, "is not the programme 2013 that zhutui init loaded: run zhutui init") {
		t.Fatalf("a run after the programme file changed: exit %d, %s", code, errs)
	}
	if out := w.ok("status"); strings.Contains(out, "run 2 ") || !strings.Contains(out, "runs are refused: programme "+w.path("programme.toml")) {
		t.Errorf("status after a refused run (none recorded, the reason shown):\n%s", out)
	}
	if out := w.ok("init"); !strings.Contains(out, "loaded programme 2013") {
		t.Errorf("init did not load the edited programme:\n%s", out)
	}
	w.ok("run", "--as-of", "2014-02-02")
	if out := w.ok("status"); strings.Contains(out, "refused") {
		t.Errorf("status after init loaded the programme:\n%s", out)
	}

	if err := os.WriteFile(w.path("programme.toml"), []byte("not a programme\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := w.zhutui("run", "--as-of", "2014-02-03"); code != 2 || !strings.Contains(errs, "programme.toml") {
		t.Errorf("a run with a broken programme file: exit %d, %s", code, errs)
	}
}

// TestBudgetEndToEnd: a programme with a budget. The night's payable
// registrations come to 19000.00 yuan; batches stop at the budget, the rest
// stays ELIGIBLE, and the report says how much is in batches, how much is
// left and what waits.
func TestBudgetEndToEnd(t *testing.T) {
	w := workdirWith(t, "programme = \"programme.toml\"\n"+testConfig)
	withBudget := bytes.Replace(fixtures.Programme2013, []byte(`budget = ""`), []byte(`budget = "10000.00"`), 1)
	if err := os.WriteFile(w.path("programme.toml"), withBudget, 0o644); err != nil {
		t.Fatal(err)
	}
	w.ok("init")
	w.dropNight1(t)
	out := w.ok("run", "--as-of", "2014-02-01")
	m := regexp.MustCompile(`batch B2014020101: (\d+) lines, ([\d.]+) yuan`).FindStringSubmatch(out)
	if m == nil || strings.Count(out, "  batch B") != 1 {
		t.Fatalf("want one batch:\n%s", out)
	}
	inBatch, err := decimal.NewFromString(m[2])
	if err != nil || inBatch.GreaterThan(decimal.RequireFromString("10000.00")) || inBatch.LessThan(decimal.RequireFromString("8000.00")) {
		t.Fatalf("the batch holds %s yuan: want the most the 10000.00 budget takes, first come first", m[2])
	}
	left := decimal.RequireFromString("19000.00").Sub(inBatch)
	summary := string(w.read("reports/run-1/summary.txt"))
	want := "  budget 10000.00: " + inBatch.StringFixed(2) + " in batches, " + decimal.RequireFromString("10000.00").Sub(inBatch).StringFixed(2) +
		" left; "
	if !strings.Contains(summary, want) || !strings.Contains(summary, "payable payments ("+left.StringFixed(2)+") not batched") {
		t.Errorf("summary.txt has no budget line %q… (%s not batched):\n%s", want, left.StringFixed(2), summary)
	}
	if !strings.Contains(summary, "verdict 结论: RECONCILED") {
		t.Errorf("not RECONCILED:\n%s", summary)
	}
	csvWant := "budget,budget,,,10000.00\nbudget,in batches,,," + inBatch.StringFixed(2) + "\nbudget,left,,," +
		decimal.RequireFromString("10000.00").Sub(inBatch).StringFixed(2) + "\nbudget,payable not batched,5,5,"
	if csv := strings.ReplaceAll(string(w.read("reports/run-1/summary.csv")), "\r\n", "\n"); !strings.Contains(csv, csvWant) {
		t.Errorf("summary.csv has no budget rows %q:\n%s", csvWant, csv)
	}
	f, err := excelize.OpenFile(w.path("reports/run-1/report.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, _ := f.GetRows("Summary 汇总")
	var sheet []string
	for _, r := range rows {
		if len(r) > 0 && r[0] == "budget 预算" {
			sheet = append(sheet, strings.Join(r, "|"))
		}
	}
	if len(sheet) != 4 || sheet[0] != "budget 预算|budget|||10000.00" || !strings.HasPrefix(sheet[3], "budget 预算|payable not batched|") {
		t.Errorf("the workbook's budget rows: %q", sheet)
	}
	html := string(w.read("reports/run-1/report.html"))
	if !strings.Contains(html, "预算 Budget 10000.00: 已入批次 in batches "+inBatch.StringFixed(2)) {
		t.Errorf("report.html has no budget line")
	}
	if st := w.ok("status"); !strings.Contains(st, "payable, not in a batch yet: ") ||
		!strings.Contains(st, "the budget of 10000.00 yuan has "+decimal.RequireFromString("10000.00").Sub(inBatch).StringFixed(2)+" left") {
		t.Errorf("status does not show the payable payments left out by the budget:\n%s", st)
	}
	w.ok("ledger", "verify")
}
