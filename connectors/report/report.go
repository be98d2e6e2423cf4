// Package report writes a run's reconciliation report (INTERFACES.md §4.4)
// into a folder of its own: summary.txt for people, summary.csv,
// registrations.csv, exceptions.csv and rejects.csv for spreadsheets. Personal
// numbers are masked and formula-looking text escaped in every file.
package report

import (
	"bufio"
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/xuri/excelize/v2"

	"zhutui/pipeline"
	"zhutui/pipeline/crashpoint"
)

// Writer writes reports under Dir, one folder per run.
type Writer struct {
	Dir string
	// XLSXMaxRegistrations caps the workbook's Registrations and
	// Exceptions sheets: with more registrations than this they hold a note
	// pointing to registrations.csv and exceptions.csv instead (a
	// spreadsheet of millions of rows is of no use to anyone, and writing
	// it would cost every night more than the night's own work). 0 means
	// DefaultXLSXMaxRegistrations.
	XLSXMaxRegistrations int64
	// KeepState: registrations.csv is built from the last report's state
	// and the registrations changed since, and the state kept for the next
	// (see state.go). Without it every registration is read.
	KeepState bool
	// Log, when set, says how the registrations were read.
	Log *slog.Logger
}

// DefaultXLSXMaxRegistrations is the default cap of the Registrations sheet.
const DefaultXLSXMaxRegistrations = 100000

// MaxXLSXRegistrations is the highest cap a sheet can hold: its rows, less
// the header.
const MaxXLSXRegistrations = excelize.TotalRows - 1

// Write builds the report of a run from src into Dir/run-<id>, replacing an
// earlier report of the same run only once the new one is complete. It
// returns the folder and the summary written.
func (w *Writer) Write(ctx context.Context, runID int64, src pipeline.ReportSource) (string, *pipeline.Summary, error) {
	count, err := src.CountRegistrations(ctx)
	if err != nil {
		return "", nil, err
	}
	if err := os.MkdirAll(w.Dir, 0o755); err != nil {
		return "", nil, fmt.Errorf("report folder: %w", err)
	}
	final := filepath.Join(w.Dir, fmt.Sprintf("run-%d", runID))
	tmp, err := os.MkdirTemp(w.Dir, fmt.Sprintf(".run-%d-*", runID))
	if err != nil {
		return "", nil, fmt.Errorf("report folder: %w", err)
	}
	defer os.RemoveAll(tmp)
	// MkdirTemp makes it 0700; a run's folder is for finance staff to read
	// as the reports folder is (its permissions, as the operator set them).
	if fi, err := os.Stat(w.Dir); err != nil {
		return "", nil, fmt.Errorf("report folder: %w", err)
	} else if err := os.Chmod(tmp, fi.Mode().Perm()); err != nil {
		return "", nil, fmt.Errorf("report folder: %w", err)
	}

	// The summary (money check, batches, alerts …) and the verification of
	// the chain's new entries are read on the other core while the
	// registrations and exceptions stream; the files that show the verdict
	// wait for them.
	var sum *pipeline.Summary
	wait := start(func() error {
		s, err := src.Summary(ctx, runID)
		if err == nil {
			s.Money.ChainProblems, err = src.VerifyNewEntries(ctx)
		}
		sum = s
		return err
	})
	defer wait()

	wb, err := newWorkbook()
	if err != nil {
		return "", nil, err
	}
	defer wb.close()
	// registrations.csv first: the summary's tallies are counted as it is
	// written, and the workbook's sheet filled in the same pass.
	lines, err := w.reportLines(ctx, src, w.KeepState)
	if err != nil {
		return "", nil, err
	}
	var state, excState *stateWriter
	if lines.path != "" {
		if state, err = newStateWriter(lines.path); err != nil {
			return "", nil, fmt.Errorf("report state: %w", err)
		}
		defer func() {
			if state != nil {
				state.abandon()
			}
		}()
		if excState, err = newStateWriter(lines.excPath); err != nil {
			return "", nil, fmt.Errorf("report state: %w", err)
		}
		defer func() {
			if excState != nil {
				excState.abandon()
			}
		}()
	}
	var tallies pipeline.Tallies
	groups := exceptionGroups{}
	// Past the cap the workbook's Registrations and Exceptions sheets point
	// to registrations.csv and exceptions.csv, which hold the same rows.
	limit := w.XLSXMaxRegistrations
	if limit <= 0 {
		limit = DefaultXLSXMaxRegistrations
	}
	sheets := wb
	if count > limit {
		sheets = nil
		for _, s := range []struct{ sheet, table, file string }{
			{registrationsSheet, "registrations", "registrations.csv"}, {exceptionsSheet, "exceptions", "exceptions.csv"},
		} {
			if err := wb.pointTo(s.sheet, s.table, s.file, count, limit); err != nil {
				return "", nil, err
			}
		}
	}
	// exceptions.csv streams on the other core while registrations.csv does.
	waitExceptions := start(func() error {
		err := writeFile(filepath.Join(tmp, "exceptions.csv"), func(b *bufio.Writer) error {
			return writeExceptions(b, lines.exceptions, groups, sheets, excState)
		})
		if err != nil {
			return fmt.Errorf("write report exceptions.csv: %w", err)
		}
		return nil
	})
	defer waitExceptions()
	files := []struct {
		name  string
		write func(*bufio.Writer) error
	}{
		{"registrations.csv", func(b *bufio.Writer) error {
			return writeRegistrations(b, lines.registrations, &tallies, sheets, state)
		}},
		{"rejects.csv", func(b *bufio.Writer) error {
			if err := writeRejects(ctx, b, src, runID); err != nil {
				return err
			}
			if err := waitExceptions(); err != nil { // the report.html groups them
				return err
			}
			if err := wait(); err != nil { // the files below show the verdict
				return err
			}
			tallies.Fill(sum)
			return nil
		}},
		{"alerts.csv", func(b *bufio.Writer) error { return writeAlerts(ctx, b, src) }},
		{"no-sms.csv", func(b *bufio.Writer) error { return writeNoMobile(ctx, b, src) }},
		{"summary.txt", func(b *bufio.Writer) error { return writeSummaryText(b, sum) }},
		{"summary.csv", func(b *bufio.Writer) error { return writeSummaryCSV(b, sum) }},
		{"report.html", func(b *bufio.Writer) error { return writeHTML(b, sum, groups) }},
	}
	for _, f := range files {
		if err := writeFile(filepath.Join(tmp, f.name), f.write); err != nil {
			return "", nil, fmt.Errorf("write report %s: %w", f.name, err)
		}
	}
	if state != nil {
		err := w.saveState(ctx, src, lines, state, excState, count)
		state, excState = nil, nil
		if err != nil {
			return "", nil, err
		}
	}
	if err := wb.finish(filepath.Join(tmp, "report.xlsx"), sum); err != nil {
		return "", nil, fmt.Errorf("write report report.xlsx: %w", err)
	}
	if err := os.RemoveAll(final); err != nil {
		return "", nil, err
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", nil, fmt.Errorf("report folder: %w", err)
	}
	dir, err := filepath.Abs(final) // for zhutui status, run from any folder
	if err != nil {
		dir = final
	}
	if err := src.SaveVerdict(ctx, runID, sum.Verdict(), dir); err != nil {
		return "", nil, fmt.Errorf("report verdict: %w", err)
	}
	return final, sum, nil
}

// start runs fn on another goroutine; wait returns its error, as often as
// it is called.
func start(fn func() error) (wait func() error) {
	done := make(chan error, 1)
	go func() { done <- fn() }()
	return sync.OnceValue(func() error { return <-done })
}

func writeFile(path string, write func(*bufio.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	b := bufio.NewWriterSize(f, 64<<10)
	if err := write(b); err != nil {
		f.Close()
		return err
	}
	if err := b.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// table is a CSV writer that escapes every cell a spreadsheet would take for
// a formula.
type table struct{ w *csv.Writer }

func newTable(b *bufio.Writer, header ...string) (*table, error) {
	t := &table{w: csv.NewWriter(b)}
	return t, t.w.Write(header)
}

func (t *table) row(cells ...string) error {
	for i, c := range cells {
		cells[i] = Cell(c)
	}
	return t.w.Write(cells)
}

func (t *table) flush() error {
	t.w.Flush()
	return t.w.Error()
}

// Cell escapes text that a spreadsheet would take for a formula (starting
// with = + - @, a tab or a carriage return) by putting an apostrophe before it.
func Cell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// Masked masks a value by the registration field it comes from: ID, card and
// mobile numbers never appear whole in a report.
func Masked(field, value string) string {
	switch field {
	case "id_number":
		return pipeline.MaskID(value)
	case "card_number":
		return pipeline.MaskCard(value)
	case "mobile":
		return pipeline.MaskMobile(value)
	}
	return value
}

func amount(fen *int64) string {
	if fen == nil {
		return ""
	}
	return pipeline.FormatFen(*fen)
}

// saveState puts the states written in place and records them, unless the
// registrations' lines are not the registrations counted (which would be a
// fault: the report fails and the next one reads every registration).
func (w *Writer) saveState(ctx context.Context, src pipeline.ReportSource, lines *reportLines, state, excState *stateWriter, count int64) error {
	prev := lines.changes.State
	if state.rows != count {
		state.abandon()
		excState.abandon()
		err := fmt.Errorf("report: registrations.csv has %d lines from %s, but there are %d registrations", state.rows, lines.how, count)
		if serr := src.SaveReportState(ctx, prev, pipeline.ReportState{}, 0); serr != nil {
			return errors.Join(err, serr)
		}
		return err
	}
	// A report cut off between the two commits, or before the states are
	// recorded, leaves files that do not match what is recorded: the next
	// report reads every registration for them, and the notes stay.
	st, err := state.commit(lines.path)
	if err != nil {
		excState.abandon()
		return err
	}
	crashpoint.Here("report:state-registrations")
	exc, err := excState.commit(lines.excPath)
	if err != nil {
		return err
	}
	crashpoint.Here("report:state-exceptions")
	st.ExceptionsSHA256, st.ExceptionRows = exc.SHA256, exc.Rows
	if err := src.SaveReportState(ctx, prev, st, lines.changes.Mark); err != nil {
		return err
	}
	if w.Log != nil {
		w.Log.Info("registrations read", "from", lines.how, "lines", state.rows)
		w.Log.Info("exceptions read", "from", lines.howExc, "lines", excState.rows)
	}
	return nil
}

// writeRegistrations writes registrations.csv from lines, counts the tallies,
// writes each line to the next state (when state is not nil) and, when wb is
// not nil, fills the workbook's Registrations sheet in the same pass.
func writeRegistrations(b *bufio.Writer, lines func(func(pipeline.RegistrationLine) error) error, tallies *pipeline.Tallies, wb *workbook, state *stateWriter) error {
	t, err := newTable(b, "registration_id", "status", "amount", "reasons", "payment_ref", "batch_id")
	if err != nil {
		return err
	}
	rows, err := sheetRows(wb, registrationsSheet, "registrations", []float64{16, 26, 12, 40, 16, 14, 6, 20},
		[]string{"registration_id", "status", "amount", "reasons", "payment_ref", "batch_id", "level", "station"}, wb.registrationRow)
	if err != nil {
		return err
	}
	states := stateRows(state, state.add)
	err = lines(func(l pipeline.RegistrationLine) error {
		tallies.Add(&l)
		rows.add(l)
		states.add(l)
		return t.row(l.RegistrationID, string(l.Status), amount(l.AmountFen), l.Reasons, l.PaymentRef, l.BatchID)
	})
	// Both are closed, whatever happened; the first error wins.
	err = cmp.Or(err, rows.close(), states.close())
	if err != nil {
		return err
	}
	return t.flush()
}

// writeExceptions writes exceptions.csv from lines (masked), writes each line
// to the next state (when state is not nil), gathers report.html's groups
// and, when wb is not nil, fills the workbook's Exceptions sheet in the same
// pass.
func writeExceptions(b *bufio.Writer, lines func(func(pipeline.ExceptionLine) error) error, groups exceptionGroups, wb *workbook, state *stateWriter) error {
	t, err := newTable(b, "registration_id", "station", "status", "code", "reason", "field", "registered", "feed")
	if err != nil {
		return err
	}
	rows, err := sheetRows(wb, exceptionsSheet, "exceptions", []float64{16, 20, 26, 26, 26, 16, 24, 24},
		[]string{"registration_id", "station", "status", "code", "reason", "field", "registered", "feed"}, wb.exceptionRow)
	if err != nil {
		return err
	}
	states := stateRows(state, state.addException)
	err = lines(func(l pipeline.ExceptionLine) error {
		groups.add(l)
		rows.add(l)
		states.add(l)
		return t.row(l.RegistrationID, l.Station, string(l.Status), string(l.Code), l.Code.Text(), l.Field,
			l.Registered, l.Feed)
	})
	// Both are closed, whatever happened; the first error wins.
	err = cmp.Or(err, rows.close(), states.close())
	if err != nil {
		return err
	}
	return t.flush()
}

func writeRejects(ctx context.Context, b *bufio.Writer, src pipeline.ReportSource, runID int64) error {
	t, err := newTable(b, "file", "line", "field", "reason")
	if err != nil {
		return err
	}
	err = src.EachReject(ctx, runID, func(r pipeline.Reject) error {
		return t.row(r.File, strconv.Itoa(r.Line), r.Field, r.Reason)
	})
	if err != nil {
		return err
	}
	return t.flush()
}

// writeAlerts lists every alert; the summary shows the first
// pipeline.MaxListed.
func writeAlerts(ctx context.Context, b *bufio.Writer, src pipeline.ReportSource) error {
	t, err := newTable(b, "registration_id", "payment_ref", "payment_status", "decision", "decision_text", "reasons", "change")
	if err != nil {
		return err
	}
	err = src.EachAlert(ctx, func(a pipeline.Alert) error {
		return t.row(a.RegistrationID, a.PaymentRef, string(a.PaymentStatus), string(a.Decision), a.Decision.Text(), a.Reasons, a.Change)
	})
	if err != nil {
		return err
	}
	return t.flush()
}

// writeNoMobile lists every paid or returned payment whose member no SMS
// could reach; the summary shows the first pipeline.MaxListed.
func writeNoMobile(ctx context.Context, b *bufio.Writer, src pipeline.ReportSource) error {
	t, err := newTable(b, "payment_ref", "notice", "amount")
	if err != nil {
		return err
	}
	err = src.EachNoMobile(ctx, func(n pipeline.Notice) error {
		return t.row(n.PaymentRef, string(n.Kind), pipeline.FormatFen(n.AmountFen))
	})
	if err != nil {
		return err
	}
	return t.flush()
}

func writeSummaryCSV(b *bufio.Writer, sum *pipeline.Summary) error {
	t, err := newTable(b, "section", "key", "count", "payable", "amount")
	if err != nil {
		return err
	}
	row := func(section, key string, count, payable int64, fen int64) error {
		return t.row(section, key, strconv.FormatInt(count, 10), strconv.FormatInt(payable, 10), pipeline.FormatFen(fen))
	}
	m := sum.Money
	if err := t.row("verdict", sum.Verdict(), "", "", ""); err != nil {
		return err
	}
	if err := t.row("state", "after run", strconv.FormatInt(sum.LastRun, 10), "", ""); err != nil {
		return err
	}
	if held := sum.Held(); held != "" {
		if err := t.row("held", held, "", "", ""); err != nil {
			return err
		}
	}
	if err := t.row("ledger", m.HeadHash, strconv.FormatInt(m.LedgerEntries, 10), "", ""); err != nil {
		return err
	}
	for _, s := range pipeline.MoneyStatuses {
		p := m.Payments[s]
		if err := row("money", string(s), p.Count, p.Count, p.AmountFen); err != nil {
			return err
		}
	}
	if bs := sum.Budget; bs != nil {
		for _, r := range budgetFigures(bs) {
			if err := t.row("budget", r.key, "", "", pipeline.FormatFen(r.fen)); err != nil {
				return err
			}
		}
		if err := row("budget", "payable not batched", bs.WaitingCount, bs.WaitingCount, bs.WaitingFen); err != nil {
			return err
		}
	}
	for _, x := range m.Batches {
		if err := row("batch", x.ID, x.Count, x.Count, x.FileFen); err != nil {
			return err
		}
	}
	for _, sec := range summarySections(sum) {
		for _, x := range sec.tallies {
			if err := row(sec.name, x.Key, x.Count, x.Payable, x.AmountFen); err != nil {
				return err
			}
		}
	}
	return t.flush()
}

type section struct {
	name, title, keyTitle string
	tallies               []pipeline.Tally
}

func summarySections(sum *pipeline.Summary) []section {
	return []section{
		{"status", "按状态 By status", "状态 Status", sum.ByStatus},
		{"level", "按等级 By level", "等级 Level", sum.ByLevel},
		{"station", "按服务站 By station", "服务站 Station", sum.ByStation},
	}
}

// background hands rows to a writer on another goroutine (the other core),
// in blocks; close waits for it, finishes, and returns its first error.
type background[T any] struct {
	blocks chan []T
	done   chan error
	block  []T
}

func inBackground[T any](write func(*T) error, finish func() error) *background[T] {
	b := &background[T]{blocks: make(chan []T, 8), done: make(chan error, 1), block: make([]T, 0, 512)}
	go func() {
		var err error
		for block := range b.blocks {
			for i := range block {
				if err == nil {
					err = write(&block[i])
				}
			}
		}
		if err == nil {
			err = finish()
		}
		b.done <- err
	}()
	return b
}

// sheetRows starts a workbook sheet whose rows row writes in the background;
// with no workbook (past the cap) it returns nil, which takes rows and
// writes none.
func sheetRows[T any](wb *workbook, name, table string, widths []float64, header []string,
	row func(*sheet, *T) error) (*background[T], error) {
	if wb == nil {
		return nil, nil
	}
	s, err := wb.sheet(name, table, widths, header...)
	if err != nil {
		return nil, err
	}
	return inBackground(func(v *T) error { return row(s, v) }, s.done), nil
}

// stateRows writes lines to the next state (when there is one) in the
// background, so that the state's CSV and SHA-256 take the other core while
// the report's own file is written: with a million registrations the state
// is rewritten every night.
func stateRows[T any](state *stateWriter, add func(*T) error) *background[T] {
	if state == nil {
		return nil
	}
	return inBackground(add, func() error { return nil })
}

func (b *background[T]) add(v T) {
	if b == nil {
		return
	}
	if b.block = append(b.block, v); len(b.block) == cap(b.block) {
		b.blocks <- b.block
		b.block = make([]T, 0, 512)
	}
}

func (b *background[T]) close() error {
	if b == nil {
		return nil
	}
	if len(b.block) > 0 {
		b.blocks <- b.block
	}
	close(b.blocks)
	return <-b.done
}
