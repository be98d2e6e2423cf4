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

// TestAnotherProgramme: a later year's programme, loaded by zhutui init into
// the database of an earlier one. While no registration is there it is
// loaded (a database set up with the wrong one is mended); once there are
// registrations it is refused, and nothing changes: they were made under the
// active programme, and would otherwise be judged again under the other's
// start date (a pending 2013 registration refused as ISSUED_BEFORE_START).
// A run whose configuration names another programme than the loaded one,
// the built-in included, is refused too.
func TestAnotherProgramme(t *testing.T) {
	w := workdirWith(t, "programme = \"programme.toml\"\n"+testConfig)
	later := []byte(strings.NewReplacer(`code = "2013"`, `code = "2014"`, `start_date = "2013-10-01"`, `start_date = "2014-10-01"`).
		Replace(string(fixtures.Programme2013)))
	write := func(src []byte) {
		if err := os.WriteFile(w.path("programme.toml"), src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(later)
	if out := w.ok("init"); !strings.Contains(out, "loaded programme 2014") {
		t.Fatalf("init into an empty database:\n%s", out)
	}
	w.editConfig(t, "programme = \"programme.toml\"\n", "")
	_, errs, code := w.zhutui("run", "--as-of", "2014-02-01")
	if code != 2 || !strings.Contains(errs, "the configuration's programme is 2013 (built-in), but zhutui init loaded programme 2014") {
		t.Fatalf("a run under the built-in programme with 2014 loaded: exit %d, %s", code, errs)
	}
	if out := w.ok("init"); !strings.Contains(out, "loaded programme 2013") {
		t.Fatalf("init back to the built-in programme, no registration yet:\n%s", out)
	}
	w.editConfig(t, "[bank]", "programme = \"programme.toml\"\n[bank]")
	write(fixtures.Programme2013)
	if out := w.ok("init"); !strings.Contains(out, "programme 2013 is loaded and unchanged") {
		t.Fatalf("init of the 2013 file, the built-in one's bytes:\n%s", out)
	}
	w.dropNight1(t)
	w.ok("run", "--as-of", "2014-02-01")
	before := w.read("reports/run-1/registrations.csv")

	write(later)
	_, errs, code = w.zhutui("init")
	if code != 2 || !strings.Contains(errs, "another programme's registrations are in this database: programme 2013 is the one") ||
		!strings.Contains(errs, "programme 2014 takes a database of its own") {
		t.Fatalf("init of 2014 over 2013's registrations: exit %d, %s", code, errs)
	}
	_, errs, code = w.zhutui("run", "--as-of", "2014-02-02")
	if code != 2 || !strings.Contains(errs, "the configuration's programme is 2014 ("+w.path("programme.toml")+"), but zhutui init loaded programme 2013") {
		t.Fatalf("a run configured with 2014 over 2013's database: exit %d, %s", code, errs)
	}
	if out := w.ok("status"); strings.Contains(out, "run 2 ") || !strings.Contains(out, "runs are refused: the configuration's programme is 2014") {
		t.Errorf("status after the refusals (no run recorded, the reason shown):\n%s", out)
	}
	write(fixtures.Programme2013)
	if out := w.ok("init"); !strings.Contains(out, "programme 2013 is loaded and unchanged") {
		t.Errorf("init of the 2013 file again after the refusal:\n%s", out)
	}
	w.ok("run", "--as-of", "2014-02-02")
	if after := w.read("reports/run-2/registrations.csv"); !bytes.Equal(before, after) {
		t.Errorf("the registrations were judged again after the refused load:\n%s\nthen\n%s", before, after)
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
		!strings.Contains(st, "the budget of 10000.00 yuan: "+decimal.RequireFromString("10000.00").Sub(inBatch).StringFixed(2)+" left;") {
		t.Errorf("status does not show the payable payments left out by the budget:\n%s", st)
	}
	w.ok("ledger", "verify")

	// The budget lowered below what the batches hold: no batch more, and
	// what is over it said as such, not as a negative amount left.
	lowered := bytes.Replace(fixtures.Programme2013, []byte(`budget = ""`), []byte(`budget = "5000.00"`), 1)
	if err := os.WriteFile(w.path("programme.toml"), lowered, 0o644); err != nil {
		t.Fatal(err)
	}
	w.ok("init")
	if out := w.ok("run", "--as-of", "2014-02-02"); strings.Contains(out, "  batch B") {
		t.Errorf("a batch made past the lowered budget:\n%s", out)
	}
	over := "nothing left: " + inBatch.Sub(decimal.RequireFromString("5000.00")).StringFixed(2) + " over it, in batches made before it was set or lowered"
	if summary := string(w.read("reports/run-2/summary.txt")); !strings.Contains(summary, "  budget 5000.00: "+inBatch.StringFixed(2)+" in batches, "+over+"; ") {
		t.Errorf("summary.txt under a lowered budget, want %q:\n%s", over, summary)
	}
	if st := w.ok("status"); !strings.Contains(st, "the budget of 5000.00 yuan: "+over+"; a batch takes only what fits") {
		t.Errorf("status under a lowered budget, want %q:\n%s", over, st)
	}
}
