package report

import (
	"archive/zip"
	"bufio"
	"compress/flate"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/xuri/excelize/v2"

	"zhutui/pipeline"
)

// workbook writes report.xlsx with excelize: sheets for the summary,
// exceptions, every registration and every batch; frozen header rows and
// filters; amounts as numbers shown with two decimals, dates as dates; text
// always stored as text, so a formula-looking name stays a name.
//
// Amounts are exact decimals everywhere else; a spreadsheet number is an
// IEEE double, so each amount becomes one only here, parsed from its exact
// 0.00 text (which every double then shows back exactly); no sum is ever
// made of them in Go.
type workbook struct {
	// mu guards the workbook while sheets are added and finished: the
	// registrations and the exceptions stream at the same time (each
	// sheet's rows go to its own stream writer).
	mu     sync.Mutex
	f      *excelize.File
	money  int // style ids
	date   int
	stamp  int
	header int
}

func newWorkbook() (*workbook, error) {
	f := excelize.NewFile()
	// Deflate at its fastest level: the sheets hold up to hundreds of
	// thousands of rows, and the default level costs several times the CPU
	// for a file a little smaller.
	f.SetZipWriter(func(w io.Writer) excelize.ZipWriter {
		z := zip.NewWriter(w)
		z.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
			return flate.NewWriter(out, flate.BestSpeed)
		})
		return z
	})
	w := &workbook{f: f}
	// Every sheet is made here, empty and in its order, the first (active)
	// one being the new file's own: once a sheet is streamed, excelize
	// reads it whole back into memory to delete, move or select a sheet
	// (about 1 KB per row), so none of that is done after.
	if err := f.SetSheetName("Sheet1", summarySheet); err != nil {
		return nil, err
	}
	for _, name := range []string{exceptionsSheet, registrationsSheet, batchesSheet} {
		if _, err := f.NewSheet(name); err != nil {
			return nil, err
		}
	}
	var err error
	fmt2 := "0.00"
	if w.money, err = f.NewStyle(&excelize.Style{CustomNumFmt: &fmt2}); err != nil {
		return nil, err
	}
	dateFmt, stampFmt := "yyyy-mm-dd", "yyyy-mm-dd hh:mm:ss"
	if w.date, err = f.NewStyle(&excelize.Style{CustomNumFmt: &dateFmt}); err != nil {
		return nil, err
	}
	if w.stamp, err = f.NewStyle(&excelize.Style{CustomNumFmt: &stampFmt}); err != nil {
		return nil, err
	}
	if w.header, err = f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true},
		Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"E8E8EC"}}}); err != nil {
		return nil, err
	}
	return w, nil
}

// amount is a money cell.
func (w *workbook) amount(fen int64) excelize.Cell {
	v, _ := strconv.ParseFloat(pipeline.FormatFen(fen), 64)
	return excelize.Cell{Value: v, StyleID: w.money}
}

// when is a date or time cell from the store's text, or the text itself when
// it is not one.
func (w *workbook) when(s string) excelize.Cell {
	if t, err := time.Parse(pipeline.TimeLayout, s); err == nil {
		return excelize.Cell{Value: t, StyleID: w.stamp}
	}
	if t, err := time.Parse(pipeline.DateLayout, s); err == nil {
		return excelize.Cell{Value: t, StyleID: w.date}
	}
	return excelize.Cell{Value: s}
}

// sheet streams one sheet: a frozen, filtered header row, then rows.
type sheet struct {
	w     *workbook
	name  string
	sw    *excelize.StreamWriter
	cols  int
	row   int
	table string
}

func (w *workbook) sheet(name, table string, widths []float64, header ...string) (*sheet, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	sw, err := w.f.NewStreamWriter(name)
	if err != nil {
		return nil, err
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return nil, err
	}
	for i, wd := range widths {
		if err := sw.SetColWidth(i+1, i+1, wd); err != nil {
			return nil, err
		}
	}
	s := &sheet{w: w, name: name, sw: sw, cols: len(header), table: table}
	cells := make([]any, len(header))
	for i, h := range header {
		cells[i] = excelize.Cell{Value: h, StyleID: w.header}
	}
	return s, s.add(cells...)
}

func (s *sheet) add(cells ...any) error {
	s.row++
	if s.row > excelize.TotalRows {
		return fmt.Errorf("sheet %s: more than %d rows", s.name, excelize.TotalRows)
	}
	cell, _ := excelize.CoordinatesToCellName(1, s.row)
	return s.sw.SetRow(cell, cells)
}

// done adds the filter (a table over the rows) and finishes the sheet.
func (s *sheet) done() error {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	if s.row == 1 {
		if err := s.add(); err != nil { // a table needs a row under its header
			return err
		}
	}
	last, _ := excelize.CoordinatesToCellName(s.cols, s.row)
	off := false
	if err := s.sw.AddTable(&excelize.Table{Range: "A1:" + last, Name: s.table, StyleName: "TableStyleLight1",
		ShowRowStripes: &off}); err != nil {
		return err
	}
	return s.sw.Flush()
}

// The sheets, in their order.
const (
	summarySheet       = "Summary 汇总"
	exceptionsSheet    = "Exceptions 异常"
	registrationsSheet = "Registrations 登记"
	batchesSheet       = "Batches 批次"
)

// pointTo writes a sheet that says where its rows are instead: past the cap,
// in the CSV file beside the workbook.
func (w *workbook) pointTo(name, table, file string, n, limit int64) error {
	s, err := w.sheet(name, table, []float64{120}, "note")
	if err != nil {
		return err
	}
	if err := s.add(text(fmt.Sprintf("%d registrations: more than this workbook lists (xlsx_max_registrations = %d). "+
		"The rows of this sheet are all in %s beside it. 登记数超过工作簿上限，本表完整内容见 %s。", n, limit, file, file))); err != nil {
		return err
	}
	return s.done()
}

// text is a text cell whatever it looks like.
func text(s string) excelize.Cell { return excelize.Cell{Value: s} }

func (w *workbook) registrationRow(s *sheet, l *pipeline.RegistrationLine) error {
	var amount any = text("")
	if l.AmountFen != nil {
		amount = w.amount(*l.AmountFen)
	}
	return s.add(text(l.RegistrationID), text(string(l.Status)), amount, text(l.Reasons), text(l.PaymentRef),
		text(l.BatchID), l.Level, text(l.Station))
}

func (w *workbook) exceptionRow(s *sheet, l *pipeline.ExceptionLine) error {
	return s.add(text(l.RegistrationID), text(l.Station), text(string(l.Status)), text(string(l.Code)), text(l.Code.Text()),
		text(l.Field), text(l.Registered), text(l.Feed))
}

// finish writes the small sheets (the summary, made first by newWorkbook, and
// the batches) and saves.
func (w *workbook) finish(path string, sum *pipeline.Summary) error {
	s, err := w.sheet(summarySheet, "summary", []float64{18, 34, 12, 12, 16}, "section", "key", "count", "payable", "amount")
	if err != nil {
		return err
	}
	m := sum.Money
	if err := s.add(text("verdict 结论"), text(sum.Verdict())); err != nil {
		return err
	}
	if err := s.add(text("state 状态"), text("after run"), sum.LastRun); err != nil {
		return err
	}
	if held := sum.Held(); held != "" {
		if err := s.add(text("held 资金冻结"), text(held)); err != nil {
			return err
		}
	}
	if sum.Earlier() {
		if err := s.add(text("note 注意"), text(sum.EarlierNote())); err != nil {
			return err
		}
	}
	if err := s.add(text("ledger head 账本头哈希"), text(m.HeadHash), m.LedgerEntries); err != nil {
		return err
	}
	for _, st := range pipeline.MoneyStatuses {
		p := m.Payments[st]
		if err := s.add(text("money 资金"), text(string(st)), p.Count, p.Count, w.amount(p.AmountFen)); err != nil {
			return err
		}
	}
	if err := s.add(text("money 资金"), text("decided payable"), nil, nil, w.amount(m.DecidedFen())); err != nil {
		return err
	}
	if bs := sum.Budget; bs != nil {
		for _, r := range budgetFigures(bs) {
			if err := s.add(text("budget 预算"), text(r.key), nil, nil, w.amount(r.fen)); err != nil {
				return err
			}
		}
		if err := s.add(text("budget 预算"), text("payable not batched"), bs.WaitingCount, bs.WaitingCount, w.amount(bs.WaitingFen)); err != nil {
			return err
		}
	}
	for _, sec := range summarySections(sum) {
		for _, t := range sec.tallies {
			if err := s.add(text(sec.name), text(t.Key), t.Count, t.Payable, w.amount(t.AmountFen)); err != nil {
				return err
			}
		}
	}
	if err := s.done(); err != nil {
		return err
	}

	b, err := w.sheet(batchesSheet, "batches", []float64{14, 12, 20, 8, 14, 14, 14, 14, 14, 20, 14},
		"batch", "business_date", "status", "lines", "file_total", "settled", "returned", "awaiting", "bank_confirmed",
		"created_at", "approved_by")
	if err != nil {
		return err
	}
	byID := map[string]pipeline.BatchState{}
	for _, x := range sum.Batches {
		byID[x.ID] = x
	}
	for _, x := range m.Batches {
		var bank any = text("")
		if x.BankKnown {
			bank = w.amount(x.BankFen)
		}
		st := byID[x.ID]
		if err := b.add(text(x.ID), w.when(st.BusinessDate.String()), text(string(x.Status)), x.Count, w.amount(x.FileFen),
			w.amount(x.SettledFen), w.amount(x.ReturnedFen), w.amount(x.AwaitingFen), bank, w.when(st.CreatedAt),
			text(st.ApprovedBy)); err != nil {
			return err
		}
	}
	if err := b.done(); err != nil {
		return err
	}
	// Not SaveAs: it creates the file executable (os.ModePerm) and drops
	// the error of its close.
	return writeFile(path, func(b *bufio.Writer) error { return w.f.Write(b) })
}

func (w *workbook) close() { w.f.Close() }
