package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"zhutui/pipeline"
)

// source is a report source holding what a report of run 1 reads.
type source struct {
	pipeline.ReportSource // Write reads only the methods below
	sum                   pipeline.Summary
	lines                 []pipeline.RegistrationLine
	count                 int64 // what CountRegistrations says
	alerts                []pipeline.Alert
	noMobile              []pipeline.Notice
	exceptions            []pipeline.ExceptionLine
	saved                 []pipeline.ReportState
	verdict               string
}

func (s *source) Summary(context.Context, int64) (*pipeline.Summary, error) {
	sum := s.sum
	return &sum, nil
}
func (s *source) VerifyNewEntries(context.Context) ([]string, error) { return nil, nil }
func (s *source) CountRegistrations(context.Context) (int64, error)  { return s.count, nil }
func (s *source) EachRegistration(_ context.Context, fn func(pipeline.RegistrationLine) error) error {
	return each(s.lines, fn)
}
func (s *source) EachException(_ context.Context, fn func(pipeline.ExceptionLine) error) error {
	return each(s.exceptions, fn)
}
func (s *source) EachAlert(_ context.Context, fn func(pipeline.Alert) error) error {
	return each(s.alerts, fn)
}
func (s *source) EachNoMobile(_ context.Context, fn func(pipeline.Notice) error) error {
	return each(s.noMobile, fn)
}
func (s *source) EachReject(context.Context, int64, func(pipeline.Reject) error) error {
	return nil
}
func (s *source) ReportChanges(context.Context) (pipeline.ReportChanges, error) {
	return pipeline.ReportChanges{}, nil
}
func (s *source) SaveReportState(_ context.Context, _, st pipeline.ReportState, _ int64) error {
	s.saved = append(s.saved, st)
	return nil
}
func (s *source) SaveVerdict(_ context.Context, _ int64, verdict, _ string) error {
	s.verdict = verdict
	return nil
}

// each calls fn with every element of list, in order, until it fails.
func each[T any](list []T, fn func(T) error) error {
	for _, v := range list {
		if err := fn(v); err != nil {
			return err
		}
	}
	return nil
}

// fourRegistrations is a source of four registrations (one paid in batch
// B1, which the bank confirmed, one in batch B2 awaiting approval, one
// payable and not batched, at a station whose name is long, one not
// payable), 201 alerts, a name mismatch and 201 revoked certificates among
// the exceptions, a paid member no SMS could reach, a budget, and a ledger
// that has 500.00 of the paid money in its sent account.
func fourRegistrations() *source {
	s := &source{lines: []pipeline.RegistrationLine{
		{RegistrationID: "R1", Status: pipeline.Paid, AmountFen: fen(200000), PaymentRef: "P1", BatchID: "B1", Level: 1, Station: "海淀"},
		{RegistrationID: "R2", Status: pipeline.Batched, AmountFen: fen(100000), PaymentRef: "P2", BatchID: "B2", Level: 2, Station: "朝阳"},
		{RegistrationID: "R3", Status: pipeline.CertRevoked, Reasons: "CERT_REVOKED", Level: 1, Station: "朝阳"},
		{RegistrationID: "R4", Status: pipeline.Eligible, AmountFen: fen(100000), PaymentRef: "P4", Level: 2, Station: longStation},
	}}
	s.count = int64(len(s.lines))
	for i := range pipeline.MaxListed + 1 {
		s.alerts = append(s.alerts, pipeline.Alert{RegistrationID: fmt.Sprintf("A%03d", i), PaymentRef: fmt.Sprintf("PA%03d", i),
			BatchID: "B1", PaymentStatus: pipeline.Paid, Decision: pipeline.CertRevoked, Reasons: "CERT_REVOKED"})
	}
	s.exceptions = []pipeline.ExceptionLine{{RegistrationID: "D1", Status: pipeline.NameMismatch,
		Finding: pipeline.Finding{Code: pipeline.NameMismatch, Field: "name", Registered: "王芳", Feed: "王方"}}}
	for i := range maxExceptionRows + 1 {
		s.exceptions = append(s.exceptions, pipeline.ExceptionLine{RegistrationID: fmt.Sprintf("E%03d", i),
			Status: pipeline.CertRevoked, Finding: pipeline.Finding{Code: pipeline.CertRevoked}})
	}
	s.noMobile = []pipeline.Notice{{MessageID: "P1-paid", Kind: pipeline.NoticePaid, PaymentRef: "P1", AmountFen: 200000}}
	s.sum = pipeline.Summary{Run: pipeline.Run{ID: 1, Trigger: pipeline.TriggerManual, StartedAt: "2014-02-01 02:30:00"}, LastRun: 1, Programme: "BJ-2013",
		Alerts: s.alerts[:pipeline.MaxListed], AlertCount: int64(len(s.alerts)),
		NoMobile: s.noMobile, NoMobileCount: 1,
		Budget: &pipeline.BudgetState{BudgetFen: 1000000, CommittedFen: 300000, WaitingCount: 1, WaitingFen: 100000},
		Batches: []pipeline.BatchState{
			{Batch: pipeline.Batch{ID: "B1", BusinessDate: pipeline.MustDate("2014-01-31"), Status: pipeline.BatchSettled, Count: 1,
				TotalFen: 200000, CreatedAt: "2014-01-31 02:30:00", CreatedBy: "zhutui", ApprovedBy: "finance-li"}},
			{Batch: pipeline.Batch{ID: "B2", Status: pipeline.BatchAwaitingApproval, Count: 1, TotalFen: 100000,
				CreatedAt: "2014-02-01 02:30:00", CreatedBy: "zhutui"}},
		},
		Money: &pipeline.MoneyCheck{
			Payments: map[pipeline.Status]pipeline.Tally{
				pipeline.Eligible: {Key: "ELIGIBLE", Count: 1, Payable: 1, AmountFen: 100000},
				pipeline.Batched:  {Key: "BATCHED", Count: 1, Payable: 1, AmountFen: 100000},
				pipeline.Paid:     {Key: "PAID", Count: 1, Payable: 1, AmountFen: 200000},
			},
			Ledger: map[pipeline.Account]int64{pipeline.AccountProgramme: -400000, pipeline.AccountEligible: 100000,
				pipeline.AccountBatched: 100000, pipeline.AccountSent: 50000, pipeline.AccountPaid: 150000},
			LedgerEntries: 7, HeadHash: strings.Repeat("ab", 32),
			Batches: []pipeline.BatchMoney{
				{ID: "B1", Status: pipeline.BatchSettled, Count: 1, FileFen: 200000, LedgerFen: 200000, SettledFen: 200000,
					BankFen: 200000, BankKnown: true},
				{ID: "B2", Status: pipeline.BatchAwaitingApproval, Count: 1, FileFen: 100000, LedgerFen: 100000, AwaitingFen: 100000},
			},
		}}
	return s
}

// longStation is a station's name of 14 characters: report.html's charts
// show its first 11 and an ellipsis.
const longStation = "东城区职工服务中心第三服务站"

// TestWriteSummary: summary.txt and report.html give each section's totals,
// the bank's confirmed total of a batch, the batches awaiting approval, how
// many alerts they leave out (one here), and every problem of the money
// check; summary.csv and no-sms.csv every figure; report.html the batches'
// totals, and the exceptions by reason in the order of §3, each reason's
// first maxExceptionRows and how many more.
func TestWriteSummary(t *testing.T) {
	src := fourRegistrations()
	w := &Writer{Dir: t.TempDir()}
	dir, _, err := w.Write(context.Background(), 1, src)
	if err != nil {
		t.Fatal(err)
	}
	problems := src.sum.Money.Problems()
	if len(problems) != 2 || !strings.HasPrefix(src.verdict, "NOT RECONCILED: 2 problems") {
		t.Fatalf("problems %q, verdict %q: want the sent and paid accounts' two", problems, src.verdict)
	}
	text := string(mustRead(t, filepath.Join(dir, "summary.txt")))
	if got := RunStarted(dir); got != "2014-02-01 02:30:00" {
		t.Errorf("RunStarted reads %q from summary.txt, want its run's start 2014-02-01 02:30:00", got)
	}
	want := []string{
		"\n不符 What does not add up\n  - " + problems[0] + "\n  - " + problems[1] + "\n",
		"  … 另有 1 条，见 alerts.csv (and 1 more, all in alerts.csv)\n",
		"\n待审批 Batches awaiting approval\n  B2: 1 line, 1000.00 yuan, created 2014-02-01 02:30:00 by zhutui\n",
		"\n无有效手机号 No SMS: 1 payment without a valid mobile (tell",
		"\nledger 账本: 7 entries, head hash ",
		" · started 2014-02-01 02:30:00 Beijing time\n",
	}
	if n := strings.Count(text, fmt.Sprintf("  %8d %8d %16s  total 合计\n", 4, 3, "4000.00")); n != 3 {
		t.Errorf("summary.txt has %d sections totalling 4 registrations, 3 payable, 4000.00; want 3", n)
	}
	bank := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], "B") && len(f[0]) == 2 {
			bank[f[0]] = f[len(f)-1]
		}
	}
	if bank["B1"] != "2000.00" || bank["B2"] != "-" {
		t.Errorf("the batches' bank confirmed totals: %q, want B1's 2000.00 and none of B2", bank)
	}
	for _, s := range want {
		if !strings.Contains(text, s) {
			t.Errorf("summary.txt has no %q:\n%s", s, text)
		}
	}
	// summary.csv: every figure, as a spreadsheet reads it; the tallies
	// end it, and the workbook's summary sheet.
	tallies := [][]string{
		{"status", "BATCHED", "1", "1", "1000.00"},
		{"status", "CERT_REVOKED", "1", "0", "0.00"},
		{"status", "ELIGIBLE", "1", "1", "1000.00"},
		{"status", "PAID", "1", "1", "2000.00"},
		{"level", "1", "2", "1", "2000.00"},
		{"level", "2", "2", "2", "2000.00"},
		{"station", longStation, "1", "1", "1000.00"},
		{"station", "朝阳", "2", "1", "1000.00"},
		{"station", "海淀", "1", "1", "2000.00"},
	}
	wantCSV := [][]string{
		{"section", "key", "count", "payable", "amount"},
		{"verdict", src.verdict, "", "", ""},
		{"state", "after run", "1", "", ""},
		{"ledger", strings.Repeat("ab", 32), "7", "", ""},
		{"money", "ELIGIBLE", "1", "1", "1000.00"},
		{"money", "BATCHED", "1", "1", "1000.00"},
		{"money", "SENT", "0", "0", "0.00"},
		{"money", "PAID", "1", "1", "2000.00"},
		{"money", "RETURNED", "0", "0", "0.00"},
		{"budget", "budget", "", "", "10000.00"},
		{"budget", "in batches", "", "", "3000.00"},
		{"budget", "left", "", "", "7000.00"},
		{"budget", "payable not batched", "1", "1", "1000.00"},
		{"batch", "B1", "1", "1", "2000.00"},
		{"batch", "B2", "1", "1", "1000.00"},
	}
	wantCSV = append(wantCSV, tallies...)
	if got := readCSV(t, filepath.Join(dir, "summary.csv")); !reflect.DeepEqual(got, wantCSV) {
		t.Errorf("summary.csv:\n got %q\nwant %q", got, wantCSV)
	}
	if got, want := readCSV(t, filepath.Join(dir, "no-sms.csv")), [][]string{{"payment_ref", "notice", "amount"},
		{"P1", "paid", "2000.00"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("no-sms.csv: %q, want %q", got, want)
	}
	html := string(mustRead(t, filepath.Join(dir, "report.html")))
	for _, s := range []string{
		`<td class="n" data-total>4</td><td class="n">3</td><td class="n">4000.00</td>`,
		`<td class="n">3</td><td class="n" data-test="decided">4000.00</td>`,
		// The batches' totals: lines, file, ledger, settled, returned, awaiting.
		`<td class="n">2</td><td class="n">3000.00</td><td class="n">3000.00</td><td class="n">2000.00</td>` +
			`<td class="n">0.00</td><td class="n">1000.00</td>`,
		`<tr><td>B2</td><td class="n">1</td><td class="n">1000.00</td><td>2014-02-01 02:30:00 · zhutui</td>`,
		`>东城区职工服务中心第三…</text>`,
		`data-test="alerts-more">… 另有 1 条`,
		"<li>" + template.HTMLEscapeString(problems[1]) + "</li>",
		`<summary>CERT_REVOKED · 证书已撤销 · <span data-count>201</span></summary>`,
		`<p class="muted">… 另有 1 条，见 exceptions.csv / report.xlsx (and 1 more)</p>`,
		`No SMS could be sent: no valid mobile, 1 payment</small>`,
		// The headline counts the problems; the list under it names them.
		`data-test="verdict">NOT RECONCILED 未对平: 2 problems<ul><li>`,
		`Ledger head hash (7 entries)`,
		`开始 Started 2014-02-01 02:30:00 (北京时间 Beijing time)`,
		`<span data-count>201</span> changes after a payment`,
	} {
		if !strings.Contains(html, s) {
			t.Errorf("report.html has no %s", s)
		}
	}
	// report.xlsx: every figure, as the spreadsheet shows it.
	wb, err := excelize.OpenFile(filepath.Join(dir, "report.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	defer wb.Close()
	for _, sheet := range []struct {
		name string
		want [][]string
	}{
		{"Summary 汇总", append([][]string{
			{"section", "key", "count", "payable", "amount"},
			{"verdict 结论", src.verdict},
			{"state 状态", "after run", "1"},
			{"ledger head 账本头哈希", strings.Repeat("ab", 32), "7"},
			{"money 资金", "ELIGIBLE", "1", "1", "1000.00"},
			{"money 资金", "BATCHED", "1", "1", "1000.00"},
			{"money 资金", "SENT", "0", "0", "0.00"},
			{"money 资金", "PAID", "1", "1", "2000.00"},
			{"money 资金", "RETURNED", "0", "0", "0.00"},
			{"money 资金", "decided payable", "", "", "4000.00"},
			{"budget 预算", "budget", "", "", "10000.00"},
			{"budget 预算", "in batches", "", "", "3000.00"},
			{"budget 预算", "left", "", "", "7000.00"},
			{"budget 预算", "payable not batched", "1", "1", "1000.00"},
		}, tallies...)},
		{"Registrations 登记", [][]string{
			{"registration_id", "status", "amount", "reasons", "payment_ref", "batch_id", "level", "station"},
			{"R1", "PAID", "2000.00", "", "P1", "B1", "1", "海淀"},
			{"R2", "BATCHED", "1000.00", "", "P2", "B2", "2", "朝阳"},
			{"R3", "CERT_REVOKED", "", "CERT_REVOKED", "", "", "1", "朝阳"},
			{"R4", "ELIGIBLE", "1000.00", "", "P4", "", "2", longStation},
		}},
		{"Batches 批次", [][]string{
			{"batch", "business_date", "status", "lines", "file_total", "settled", "returned", "awaiting", "bank_confirmed",
				"created_at", "approved_by"},
			{"B1", "2014-01-31", "SETTLED", "1", "2000.00", "2000.00", "0.00", "0.00", "2000.00", "2014-01-31 02:30:00", "finance-li"},
			{"B2", "", "AWAITING_APPROVAL", "1", "1000.00", "0.00", "0.00", "1000.00", "", "2014-02-01 02:30:00"},
		}},
	} {
		if got, err := wb.GetRows(sheet.name); err != nil || !reflect.DeepEqual(got, sheet.want) {
			t.Errorf("report.xlsx, sheet %s (%v):\n got %q\nwant %q", sheet.name, err, got, sheet.want)
		}
	}
	// The batches' times are dates and times to the spreadsheet, not text.
	for _, cell := range []string{"B2", "J2"} {
		if typ, err := wb.GetCellType("Batches 批次", cell); err != nil || typ == excelize.CellTypeInlineString || typ == excelize.CellTypeSharedString {
			t.Errorf("report.xlsx, Batches!%s is text (%v, %v), want a date", cell, typ, err)
		}
	}
	if got, err := wb.GetRows("Exceptions 异常"); err != nil || len(got) != len(src.exceptions)+1 ||
		!reflect.DeepEqual(got[1], []string{"D1", "", "NAME_MISMATCH", "NAME_MISMATCH", "姓名与证书不符", "name", "王芳", "王方"}) {
		t.Errorf("report.xlsx, sheet Exceptions: %d rows, the first %q, %v", len(got), got[1:2], err)
	}
	if strings.Contains(html, ">"+longStation+"</text>") {
		t.Errorf("report.html's chart shows the long station name whole")
	}
	if n := strings.Count(html, "<tr><td>E"); n != maxExceptionRows {
		t.Errorf("report.html lists %d revoked certificates, want the first %d", n, maxExceptionRows)
	}
	if i, j := strings.Index(html, `data-code="CERT_REVOKED"`), strings.Index(html, `data-code="NAME_MISMATCH"`); i < 0 || j < i {
		t.Errorf("report.html's exceptions: CERT_REVOKED at %d, NAME_MISMATCH at %d; want §3's order", i, j)
	}
}

// TestWriteEarlierAndHeld: the report of an earlier run whose batch stage
// held the money says both in every file a person reads first.
func TestWriteEarlierAndHeld(t *testing.T) {
	src := fourRegistrations()
	held := "no money moves while the books do not agree: ledger entry 3 does not verify"
	src.sum.LastRun = 2
	src.sum.Run.Stages = []pipeline.StageRecord{{Stage: "batch", Outcome: pipeline.OutcomeSucceeded, Counts: pipeline.HeldPrefix + held}}
	w := &Writer{Dir: t.TempDir()}
	dir, _, err := w.Write(context.Background(), 1, src)
	if err != nil {
		t.Fatal(err)
	}
	note := src.sum.EarlierNote()
	for file, want := range map[string][]string{
		"summary.txt": {"\n" + note + "\n", "资金冻结 MONEY HELD by this run (no batch made or delivered): " + held + "\n"},
		"summary.csv": {"\nheld," + held + ",,,\n", "\nstate,after run,2,,\n"},
		"report.html": {`data-test="earlier">` + template.HTMLEscapeString(note) + "<", template.HTMLEscapeString(held)},
	} {
		text := string(mustRead(t, filepath.Join(dir, file)))
		for _, s := range want {
			if !strings.Contains(text, s) {
				t.Errorf("%s has no %q", file, s)
			}
		}
	}
	wb, err := excelize.OpenFile(filepath.Join(dir, "report.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	defer wb.Close()
	rows, err := wb.GetRows("Summary 汇总")
	if err != nil || len(rows) < 5 || !reflect.DeepEqual(rows[2:5], [][]string{{"state 状态", "after run", "2"}, {"held 资金冻结", held}, {"note 注意", note}}) {
		t.Errorf("report.xlsx's summary begins %q, %v; want the state after run 2, the money held and the note", rows[:min(5, len(rows))], err)
	}
}

// TestWriteNothingYet: a report of no registration, no exception and no
// batch is whole; each of the workbook's tables has a row under its header.
func TestWriteNothingYet(t *testing.T) {
	src := &source{sum: pipeline.Summary{Run: pipeline.Run{ID: 1}, LastRun: 1, Money: &pipeline.MoneyCheck{}}}
	w := &Writer{Dir: t.TempDir()}
	dir, _, err := w.Write(context.Background(), 1, src)
	if err != nil || src.verdict != pipeline.Reconciled {
		t.Fatalf("Write: %v, verdict %q", err, src.verdict)
	}
	wb, err := excelize.OpenFile(filepath.Join(dir, "report.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	defer wb.Close()
	for _, sheet := range []string{"Exceptions 异常", "Registrations 登记", "Batches 批次"} {
		tables, err := wb.GetTables(sheet)
		if err != nil || len(tables) != 1 || !strings.HasSuffix(tables[0].Range, "2") {
			t.Errorf("sheet %s: tables %+v, %v; want one, of its header and an empty row", sheet, tables, err)
		}
	}
}

// TestWriteStateOfOtherCount: when the registrations' lines are not as many
// as the registrations counted (a fault), the report fails, keeps no state
// (the next one reads every registration) and leaves no folder.
func TestWriteStateOfOtherCount(t *testing.T) {
	src := fourRegistrations()
	src.count++
	w := &Writer{Dir: t.TempDir(), KeepState: true}
	_, _, err := w.Write(context.Background(), 1, src)
	want := "report: registrations.csv has 4 lines from every registration (no state yet), but there are 5 registrations"
	if err == nil || err.Error() != want {
		t.Fatalf("Write: %v, want %s", err, want)
	}
	if len(src.saved) != 1 || src.saved[0] != (pipeline.ReportState{}) || src.verdict != "" {
		t.Errorf("states saved %+v, verdict %q; want the empty state alone, no verdict", src.saved, src.verdict)
	}
	for _, p := range []string{"run-1", filepath.Join(stateFolder, stateFile), filepath.Join(stateFolder, exceptionsFile)} {
		if _, err := os.Stat(filepath.Join(w.Dir, p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is there (%v)", p, err)
		}
	}
}

func readCSV(t *testing.T, p string) [][]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(mustRead(t, p))).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return rows
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReportFolderPermissions: a run's report folder gets the reports
// folder's permissions (MkdirTemp alone would leave it 0700, unreadable to
// finance staff in the folder's group), and no report file is executable
// (excelize's SaveAs made report.xlsx so).
func TestReportFolderPermissions(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	run, _, err := (&Writer{Dir: dir}).Write(context.Background(), 1, fourRegistrations())
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(run); err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("the run's folder: %v, %v; want the reports folder's 0750", fi.Mode(), err)
	}
	files, err := os.ReadDir(run)
	if err != nil || len(files) < 9 {
		t.Fatalf("the run's files: %v, %v", files, err)
	}
	for _, f := range files {
		if fi, err := f.Info(); err != nil || fi.Mode().Perm()&0o111 != 0 {
			t.Errorf("%s: %v, %v; want no execute bit", f.Name(), fi.Mode(), err)
		}
	}
}
