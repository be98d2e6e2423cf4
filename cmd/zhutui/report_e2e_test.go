package main_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"zhutui/fixtures/bank"
)

// twoNights runs the money cycle on the fixtures (approval off): night 1
// delivers the payment file, the bank returns two payments, night 2 settles
// them. It returns the work folder and the last report folder.
func twoNights(t *testing.T) (*workdir, string) {
	t.Helper()
	w := night1Workdir(t)
	w.ok("run", "--as-of", "2014-02-01")
	name, res, err := bank.Answer(w.read("outbox/payments/ZTPAY_B2014020101.txt"),
		map[string]bank.Failure{"R001-1": bank.AccountClosed, "R028-1": bank.NameMismatch})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.path("inbox/results", name), res, 0o644); err != nil {
		t.Fatal(err)
	}
	copyFile(t, filepath.Join(samples, "night2/registrations.csv"), w.path("inbox/registrations/night2.csv"))
	w.ok("run", "--as-of", "2014-02-02")
	return w, w.path("reports", "run-2")
}

// csvFacts reads registrations.csv: the count of each status and the money
// each holds.
func csvFacts(t *testing.T, dir string) (count map[string]int, fen map[string]int64, rows int) {
	t.Helper()
	count, fen = map[string]int{}, map[string]int64{}
	lines := strings.Split(strings.TrimSpace(string(mustRead(t, filepath.Join(dir, "registrations.csv")))), "\n")
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		count[f[1]]++
		if f[2] != "" {
			d, err := decimal.NewFromString(f[2])
			if err != nil {
				t.Fatal(err)
			}
			fen[f[1]] += d.Shift(2).IntPart()
		}
	}
	return count, fen, len(lines) - 1
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readCSV reads a whole CSV file.
func readCSV(t *testing.T, p string) [][]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(mustRead(t, p))).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return rows
}

func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed, and CI must run this test (.ci/run installs it)")
	}
	t.Skip("chromium is not installed (Debian: chromium); CI installs it and runs this test")
	return ""
}

// TestReportInChromium renders report.html of the fixture run in headless
// Chromium and checks that what it shows equals the CSV files; the screenshot
// is kept as a test artifact (go test -artifacts).
func TestReportInChromium(t *testing.T) {
	browser := chromium(t)
	_, dir := twoNights(t)
	page := "file://" + filepath.Join(dir, "report.html")
	flags := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir()}
	dom, err := exec.Command(browser, append(flags, "--dump-dom", page)...).Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v", err)
	}
	html := string(dom)
	shot := filepath.Join(t.ArtifactDir(), "report.png")
	if out, err := exec.Command(browser, append(flags, "--window-size=1280,5000", "--screenshot="+shot, page)...).CombinedOutput(); err != nil {
		t.Fatalf("chromium --screenshot: %v\n%s", err, out)
	}
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 10000 {
		t.Errorf("screenshot %s: %v", shot, err)
	}
	// Printed, the page is A4 landscape: the batches' nine columns do not
	// fit a portrait page once a total has ten digits before the point.
	pdf := filepath.Join(t.ArtifactDir(), "report.pdf")
	if out, err := exec.Command(browser, append(flags, "--no-pdf-header-footer", "--print-to-pdf="+pdf, page)...).CombinedOutput(); err != nil {
		t.Fatalf("chromium --print-to-pdf: %v\n%s", err, out)
	}
	box := regexp.MustCompile(`/MediaBox \[0 0 ([0-9.]+) ([0-9.]+)\]`).FindSubmatch(mustRead(t, pdf))
	if box == nil {
		t.Fatalf("%s has no /MediaBox", pdf)
	}
	if w, h := string(box[1]), string(box[2]); !strings.HasPrefix(w, "841.") || !strings.HasPrefix(h, "594.") && !strings.HasPrefix(h, "595.") {
		t.Errorf("printed page is %s x %s points, want A4 landscape (841.9 x 595.3)", w, h)
	}

	count, fen, rows := csvFacts(t, dir)
	grab := func(re string) string {
		m := regexp.MustCompile(re).FindStringSubmatch(html)
		if m == nil {
			t.Fatalf("the page shows no %s", re)
		}
		return m[1]
	}
	if v := grab(`data-test="verdict">([^<]*)`); strings.TrimSpace(v) != "RECONCILED" {
		t.Errorf("verdict shown = %q", v)
	}
	summary := string(mustRead(t, filepath.Join(dir, "summary.csv")))
	head := regexp.MustCompile(`(?m)^ledger,([0-9a-f]{64}),`).FindStringSubmatch(summary)[1]
	if got := grab(`data-test="head-hash">([0-9a-f]+)<`); got != head {
		t.Errorf("head hash shown %s, summary.csv %s", got, head)
	}
	if got := grab(`data-test="registrations">(\d+)<`); got != strconv.Itoa(rows) {
		t.Errorf("registrations shown %s, registrations.csv has %d", got, rows)
	}
	// Counts by status, and the money each status holds.
	for status, n := range count {
		re := `data-test="tally-status"[\s\S]*?<tr data-key="` + status + `">[\s\S]*?data-count="">(\d+)<`
		if got := grab(re); got != strconv.Itoa(n) {
			t.Errorf("%s: page shows %s, registrations.csv %d", status, got, n)
		}
	}
	var decided int64
	for _, s := range []string{"ELIGIBLE", "BATCHED", "SENT", "PAID", "RETURNED"} {
		decided += fen[s]
		if got := grab(`data-status="` + s + `">[\s\S]*?data-count="">(\d+)<`); got != strconv.Itoa(count[s]) {
			t.Errorf("money check %s count: page %s, csv %d", s, got, count[s])
		}
		if got := grab(`data-status="` + s + `">[\s\S]*?data-amount="">([\d.]+)<`); got != decimal.New(fen[s], -2).StringFixed(2) {
			t.Errorf("money check %s amount: page %s, csv %s", s, got, decimal.New(fen[s], -2).StringFixed(2))
		}
	}
	if got := grab(`data-test="decided">([\d.]+)<`); got != decimal.New(decided, -2).StringFixed(2) {
		t.Errorf("decided payable: page %s, csv %s", got, decimal.New(decided, -2).StringFixed(2))
	}
	// A formula-looking name is shown as text, and numbers are masked.
	if !strings.Contains(html, `<td>=HYPERLINK("http://example.com","x")</td>`) {
		t.Error("the formula-looking name does not appear as text")
	}
	for _, secret := range []string{"110105198003030030", "6210670000000000041"} {
		if strings.Contains(html, secret) {
			t.Errorf("the page shows %s unmasked", secret)
		}
	}
	if strings.Contains(html, "http://") && strings.Contains(html, "<script") {
		t.Error("the page loads something")
	}
}

// TestReportWorkbook opens report.xlsx with excelize and checks its sheets,
// cell types and totals against the CSV files.
func TestReportWorkbook(t *testing.T) {
	_, dir := twoNights(t)
	f, err := excelize.OpenFile(filepath.Join(dir, "report.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := []string{"Summary 汇总", "Exceptions 异常", "Registrations 登记", "Batches 批次"}
	if got := f.GetSheetList(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("sheets = %v, want %v", got, want)
	}
	if i := f.GetActiveSheetIndex(); i != 0 {
		t.Errorf("the workbook opens on sheet %d, want the summary", i)
	}
	count, fen, rows := csvFacts(t, dir)
	reg := "Registrations 登记"
	all, err := f.GetRows(reg)
	if err != nil {
		t.Fatal(err)
	}
	if len(all)-1 != rows {
		t.Errorf("%d registration rows, registrations.csv has %d", len(all)-1, rows)
	}
	var total, wantTotal int64
	gotCount := map[string]int{}
	for i := 2; i <= len(all); i++ {
		st, _ := f.GetCellValue(reg, "B"+strconv.Itoa(i))
		gotCount[st]++
		cell := "C" + strconv.Itoa(i)
		v, _ := f.GetCellValue(reg, cell)
		if v == "" {
			continue
		}
		typ, _ := f.GetCellType(reg, cell)
		if typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset {
			t.Errorf("%s holds %v, want a number", cell, typ)
		}
		style, _ := f.GetCellStyle(reg, cell)
		s, _ := f.GetStyle(style)
		if s.CustomNumFmt == nil || *s.CustomNumFmt != "0.00" {
			t.Errorf("%s is not shown with two decimals", cell)
		}
		d, err := decimal.NewFromString(v)
		if err != nil {
			t.Fatalf("%s = %q", cell, v)
		}
		total += d.Shift(2).IntPart()
	}
	for st, n := range count {
		if gotCount[st] != n {
			t.Errorf("%s: %d in the workbook, %d in registrations.csv", st, gotCount[st], n)
		}
		wantTotal += fen[st]
	}
	if total != wantTotal {
		t.Errorf("amounts total %d fen, registrations.csv %d", total, wantTotal)
	}
	panes, err := f.GetPanes(reg)
	if err != nil || !panes.Freeze || panes.YSplit != 1 {
		t.Errorf("the header row is not frozen: %+v %v", panes, err)
	}
	if tables, err := f.GetTables(reg); err != nil || len(tables) != 1 || !strings.HasPrefix(tables[0].Range, "A1:") {
		t.Errorf("no filter table on the registrations: %+v %v", tables, err)
	}
	// The formula-looking name is text, not a formula.
	exc := "Exceptions 异常"
	ex, _ := f.GetRows(exc)
	found := false
	for i, r := range ex {
		for j, v := range r {
			if v != `=HYPERLINK("http://example.com","x")` {
				continue
			}
			found = true
			cell, _ := excelize.CoordinatesToCellName(j+1, i+1)
			if formula, _ := f.GetCellFormula(exc, cell); formula != "" {
				t.Errorf("%s is a formula: %s", cell, formula)
			}
		}
	}
	if !found {
		t.Error("the formula-looking name is not in the exceptions sheet as text")
	}
	// Dates are dates.
	bs := "Batches 批次"
	typ, _ := f.GetCellType(bs, "B2")
	if v, _ := f.GetCellValue(bs, "B2"); v != "2014-02-01" || (typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset && typ != excelize.CellTypeDate) {
		t.Errorf("business date cell: %q (%v)", v, typ)
	}
}

// TestReportWorkbookCap checks that past xlsx_max_registrations the
// Registrations and Exceptions sheets point to registrations.csv and
// exceptions.csv instead of listing.
func TestReportWorkbookCap(t *testing.T) {
	w, _ := twoNights(t)
	if err := os.WriteFile(w.path("zhutui.toml"), []byte("xlsx_max_registrations = 5\n"+crashConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	w.ok("report", "--out", w.path("capped"))
	f, err := excelize.OpenFile(w.path("capped", "run-2", "report.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := []string{"Summary 汇总", "Exceptions 异常", "Registrations 登记", "Batches 批次"}
	if got := f.GetSheetList(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("sheets = %v, want %v", got, want)
	}
	for sheet, file := range map[string]string{"Registrations 登记": "registrations.csv", "Exceptions 异常": "exceptions.csv"} {
		rows, _ := f.GetRows(sheet)
		if len(rows) != 2 || !strings.Contains(rows[1][0], "31 registrations") || !strings.Contains(rows[1][0], "all in "+file) {
			t.Errorf("capped sheet %s = %v", sheet, rows)
		}
	}
	if rows := strings.Count(string(w.read("capped/run-2/exceptions.csv")), "\n"); rows < 10 {
		t.Errorf("exceptions.csv has %d lines", rows)
	}
	if _, _, n := csvFacts(t, w.path("capped", "run-2")); n != 31 {
		t.Errorf("registrations.csv has %d rows, want all 31", n)
	}
	// At the cap itself the workbook still lists every registration.
	if err := os.WriteFile(w.path("zhutui.toml"), []byte("xlsx_max_registrations = 31\n"+crashConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	w.ok("report", "--out", w.path("at-cap"))
	f, err = excelize.OpenFile(w.path("at-cap", "run-2", "report.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if rows, _ := f.GetRows("Registrations 登记"); len(rows) != 32 {
		t.Errorf("at the cap, the Registrations sheet has %d rows, want a header and all 31", len(rows))
	}
}

// TestAlertsListedInFull changes the name of every registration, more of
// those already in a batch than the summary shows: summary.txt and report.html
// show the first pipeline.MaxListed alerts and say how many more there are,
// alerts.csv lists every one.
func TestAlertsListedInFull(t *testing.T) {
	const n, shown = 230, 200 // shown: pipeline.MaxListed
	w := newWorkdir(t)
	w.ok("init")
	w.ok("gen", "--registrations", strconv.Itoa(n), "--exceptions", "0", "--out", w.path("gen"))
	copyFile(t, w.path("gen", "registrations.csv"), w.path("inbox/registrations/night1.csv"))
	copyFile(t, w.path("gen", "certificates.csv"), w.path("inbox/certificates/night1.csv"))
	w.ok("run", "--as-of", "2015-01-10")
	count, _, _ := csvFacts(t, w.path("reports", "run-1"))
	batched := count["BATCHED"] // approval is on: the batches wait
	if batched <= shown {
		t.Fatalf("night 1 batched %d registrations, want more than %d: %v", batched, shown, count)
	}

	// Night 2: every registration again, newer, with another name.
	rows := readCSV(t, w.path("gen", "registrations.csv"))
	for _, r := range rows[1:] {
		updated, err := time.Parse(time.DateTime, r[1])
		if err != nil {
			t.Fatal(err)
		}
		r[1], r[3] = updated.Add(time.Minute).Format(time.DateTime), r[3]+"某"
	}
	// The first also names another certificate: it is no longer the place its payment holds.
	movedID, movedCert := rows[1][0], rows[1][7]
	rows[1][7] = movedCert + "X"
	var b bytes.Buffer
	if err := csv.NewWriter(&b).WriteAll(rows); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.path("inbox/registrations/night2.csv"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	w.ok("run", "--as-of", "2015-01-11")
	dir := w.path("reports", "run-2")

	alerts := readCSV(t, filepath.Join(dir, "alerts.csv"))
	if len(alerts) != batched+1 || strings.Join(alerts[0], ",") != "registration_id,payment_ref,payment_status,decision,decision_text,reasons,change" {
		t.Fatalf("alerts.csv: %d lines, header %v; want %d alerts", len(alerts)-1, alerts[0], batched)
	}
	moved := fmt.Sprintf("certificate %s → %sX", movedCert, movedCert)
	for _, a := range alerts[1:] {
		if a[0] == movedID {
			if a[2] != "BATCHED" || a[3] != "PENDING_CERTIFICATE" || a[6] != moved {
				t.Errorf("alert %v, want PENDING_CERTIFICATE and %q", a, moved)
			}
			movedID = ""
			continue
		}
		if a[2] != "BATCHED" || a[3] != "NAME_MISMATCH" || !strings.HasPrefix(a[1], a[0]+"-") || a[6] != "" {
			t.Fatalf("alert %v", a)
		}
	}
	if movedID != "" {
		t.Errorf("no alert for %s", movedID)
	}

	summary := string(mustRead(t, filepath.Join(dir, "summary.txt")))
	if !strings.Contains(summary, "not the place it was paid for: "+moved) {
		t.Errorf("summary.txt does not say that %s names another certificate:\n%s", rows[1][0], summary)
	}
	if !strings.Contains(summary, fmt.Sprintf("Alerts: %d changes after a payment entered a batch", batched)) {
		t.Errorf("summary.txt does not give the number of alerts:\n%s", summary)
	}
	if got := strings.Count(summary, ": now NAME_MISMATCH") + strings.Count(summary, ": now PENDING_CERTIFICATE"); got != shown {
		t.Errorf("summary.txt lists %d alerts, want the first %d", got, shown)
	}
	if !strings.Contains(summary, fmt.Sprintf("and %d more, all in alerts.csv", batched-shown)) {
		t.Errorf("summary.txt does not say how many more alerts alerts.csv has")
	}
	if !strings.Contains(summary, alerts[shown][0]+" (") || strings.Contains(summary, alerts[shown+1][0]+" (") {
		t.Errorf("summary.txt should list alerts.csv's first %d alerts, up to %s", shown, alerts[shown][0])
	}
	html := string(mustRead(t, filepath.Join(dir, "report.html")))
	table := html[strings.Index(html, `data-test="alerts"`):]
	table = table[:strings.Index(table, "</table>")]
	if got := strings.Count(table, "<tr><td>"); got != shown {
		t.Errorf("report.html lists %d alerts, want %d", got, shown)
	}
	if !strings.Contains(table, "<td>"+moved+"</td>") {
		t.Errorf("report.html does not say that %s names another certificate", rows[1][0])
	}
	if !strings.Contains(html, fmt.Sprintf("and %d more", batched-shown)) {
		t.Errorf("report.html does not say how many more alerts there are")
	}
	if nosms := string(mustRead(t, filepath.Join(dir, "no-sms.csv"))); nosms != "payment_ref,notice,amount\n" {
		t.Errorf("no-sms.csv = %q, want the header alone", nosms)
	}

	// The batch holding the moved registration's payment lists its alerts
	// (every line of it: every name changed; the first 200), and approving
	// it warns.
	batch, lines := "", 0
	regs := readCSV(t, filepath.Join(dir, "registrations.csv"))
	for _, r := range regs[1:] {
		if r[0] == rows[1][0] {
			batch = r[5]
		}
	}
	for _, r := range regs[1:] {
		if batch != "" && r[5] == batch {
			lines++
		}
	}
	if st := w.ok("status"); !strings.Contains(st, fmt.Sprintf("%d alerts: payments changed after the batch was made (zhutui batch show %s)", lines, batch)) {
		t.Errorf("zhutui status does not give %s's %d alerts:\n%s", batch, lines, st)
	}
	show := w.ok("batch", "show", batch)
	if !strings.Contains(show, fmt.Sprintf("alerts: %d of its payments changed after the batch was made", lines)) ||
		!strings.Contains(show, rows[1][0]+" ("+rows[1][0]+"-1, BATCHED): now PENDING_CERTIFICATE") ||
		!strings.Contains(show, "not the place it was paid for: "+moved) ||
		strings.Count(show, ": now ") != shown || !strings.Contains(show, fmt.Sprintf("… and %d more", lines-shown)) {
		t.Errorf("zhutui batch show %s does not list its %d alerts:\n%s", batch, lines, show)
	}
	out, errs, code := w.zhutui("batch", "approve", batch, "--by", "finance-li")
	if code != 0 || !strings.Contains(out, "approved by finance-li") ||
		!strings.Contains(errs, fmt.Sprintf("warning: batch %s: %d of its payments changed after the batch was made", batch, lines)) {
		t.Errorf("zhutui batch approve %s: exit %d\nstdout:\n%s\nstderr:\n%s", batch, code, out, errs)
	}
}

// TestReportOfAnEarlierRun: a report says after which run its state is. The
// report of an earlier run is not replaced by today's state; written
// elsewhere, it says that it shows the state now.
func TestReportOfAnEarlierRun(t *testing.T) {
	w, _ := twoNights(t)
	night1 := w.read("reports/run-1/summary.txt")
	if !strings.Contains(string(night1), "state after run 1\n") || strings.Contains(string(night1), "is not the last run") {
		t.Errorf("night 1's own report:\n%s", night1)
	}
	if s := string(w.read("reports/run-2/summary.txt")); !strings.Contains(s, "state after run 2\n") || strings.Contains(s, "is not the last run") {
		t.Errorf("night 2's own report:\n%s", s)
	}

	if _, errs, code := w.zhutui("report", "--run", "3"); code != 2 || !strings.Contains(errs, "no such run (the last is 2)") {
		t.Errorf("report --run 3: exit %d, %s", code, errs)
	}
	_, errs, code := w.zhutui("report", "--run", "1")
	if code != 2 || !strings.Contains(errs, "run 1 is not the last run (2)") || !strings.Contains(errs, "--out DIR") {
		t.Fatalf("report --run 1: exit %d, %s", code, errs)
	}
	// --out naming the reports folder itself, however spelt, is refused too.
	if err := os.Symlink("reports", w.path("link")); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{"reports", "./reports/", w.path("reports"), "link"} {
		_, errs, code := w.zhutui("report", "--run", "1", "--out", out)
		if code != 2 || !strings.Contains(errs, "run 1 is not the last run (2)") || !strings.Contains(errs, "a folder other than the reports folder") {
			t.Errorf("report --run 1 --out %s: exit %d, %s", out, code, errs)
		}
	}
	if !bytes.Equal(w.read("reports/run-1/summary.txt"), night1) {
		t.Error("night 1's report was changed")
	}

	w.ok("report", "--run", "1", "--out", w.path("now"))
	dir := w.path("now", "run-1")
	summary := string(mustRead(t, filepath.Join(dir, "summary.txt")))
	if !strings.Contains(summary, "state after run 2\n") || !strings.Contains(summary, "Run 1 is not the last run") {
		t.Errorf("an earlier run's report does not say whose state it shows:\n%s", summary)
	}
	if !strings.Contains(string(mustRead(t, filepath.Join(dir, "report.html"))), `data-test="earlier"`) {
		t.Error("report.html does not warn that it shows the state after run 2")
	}
	if !strings.Contains(string(mustRead(t, filepath.Join(dir, "summary.csv"))), "\nstate,after run,2,,\n") {
		t.Error("summary.csv has no state row")
	}
}

// TestTextCannotForgeALine: a value from an input file with a line break or
// a terminal's escape in it (a station here) is shown escaped in
// summary.txt, so that it cannot print a line of its own, a verdict say.
func TestTextCannotForgeALine(t *testing.T) {
	w := workdirWith(t, testConfig+"[approval]\nrequired = false\n")
	w.ok("init")
	src, err := os.ReadFile(filepath.Join(samples, "night1/registrations.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(src, []byte("\ufeff")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	station := slices.Index(rows[0], "station")
	rows[1][station] += "\n  verdict 结论: FORGED"
	rows[2][station] = "\x1b[31mRED"
	var b bytes.Buffer
	if err := csv.NewWriter(&b).WriteAll(rows); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.path("inbox/registrations/night1.csv"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	copyFile(t, filepath.Join(samples, "night1/certificates.csv"), w.path("inbox/certificates/night1.csv"))
	w.ok("run", "--as-of", "2014-02-01")
	summary := string(w.read("reports/run-1/summary.txt"))
	if strings.Count(summary, "verdict 结论: ") != 2 || !strings.Contains(summary, `\n  verdict 结论: FORGED`+"\n") ||
		strings.Contains(summary, "\n  verdict 结论: FORGED") || strings.Contains(summary, "\x1b") || !strings.Contains(summary, `  \x1b[31mRED`+"\n") {
		t.Errorf("summary.txt:\n%s", summary)
	}
}
