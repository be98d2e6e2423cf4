package report

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"zhutui/pipeline"
)

// The report's state is registrations.csv's lines, with each one's level and
// station, and exceptions.csv's lines, kept in Dir/.state. A report starts
// from the last one and reads from the store only the registrations noted as
// changed since (ReportSource.ReportChanges), so that a night's report costs
// what the night changed rather than every registration ever taken. The
// store records each file's SHA-256 and lines; a file that does not match
// them, no state, or more changes than maxChanged mean that every
// registration (or every exception) is read, as a first night does. Either
// way registrations.csv and exceptions.csv have the same bytes.
const (
	stateFolder    = ".state"
	stateFile      = "registrations.csv"
	exceptionsFile = "exceptions.csv"
)

// maxChanged is how many noted changes are merged at most: they are held in
// memory (about 200 bytes each) while the state streams past.
const maxChanged = 250000

// reportLines is where a report's registration and exception lines come from.
type reportLines struct {
	registrations func(fn func(pipeline.RegistrationLine) error) error
	// exceptions gives the lines with ID, card and mobile numbers masked,
	// as every file of the report shows them and the state keeps them.
	exceptions    func(fn func(pipeline.ExceptionLine) error) error
	how, howExc   string // for the log: "every registration (why)" or "state and N changes noted since"
	changes       pipeline.ReportChanges
	path, excPath string // the state files, "" when no state is kept
}

// reportLines chooses, for the registrations and for the exceptions, between
// the state and the changes since, or every registration (keep: whether a
// state is read and written at all).
func (w *Writer) reportLines(ctx context.Context, src pipeline.ReportSource, keep bool) (*reportLines, error) {
	l := &reportLines{
		registrations: func(fn func(pipeline.RegistrationLine) error) error { return src.EachRegistration(ctx, fn) },
		exceptions: func(fn func(pipeline.ExceptionLine) error) error {
			return src.EachException(ctx, func(e pipeline.ExceptionLine) error { return fn(masked(e)) })
		},
	}
	every := func(why string) string { return "every registration (" + why + ")" }
	if !keep {
		l.how = every("no state kept for this folder")
		l.howExc = l.how
		return l, nil
	}
	ch, err := src.ReportChanges(ctx)
	if err != nil {
		return nil, err
	}
	l.changes = ch
	l.path = filepath.Join(w.Dir, stateFolder, stateFile)
	l.excPath = filepath.Join(w.Dir, stateFolder, exceptionsFile)
	var why, whyExc string
	if ch.State.SHA256 != "" && ch.Notes > maxChanged {
		why = fmt.Sprintf("%d changes noted, more than %d", ch.Notes, maxChanged)
		whyExc = why
	} else {
		why, whyExc = stale(l.path, ch.State.SHA256), stale(l.excPath, ch.State.ExceptionsSHA256)
	}
	since := fmt.Sprintf("state and %d changes noted since", ch.Notes)
	if l.how = since; why != "" {
		l.how = every(why)
	} else {
		l.registrations = func(fn func(pipeline.RegistrationLine) error) error { return merge(ctx, src, l.path, ch, fn) }
	}
	if l.howExc = since; whyExc != "" {
		l.howExc = every(whyExc)
	} else {
		l.exceptions = func(fn func(pipeline.ExceptionLine) error) error {
			return mergeExceptions(ctx, src, l.excPath, ch, fn)
		}
	}
	return l, nil
}

// stale says why the state file at path cannot be used, "" when its SHA-256
// is the one recorded.
func stale(path, recorded string) string {
	if recorded == "" {
		return "no state yet"
	}
	sum, err := fileSHA256(path)
	if err != nil {
		return fmt.Sprintf("state unreadable: %v", err)
	}
	if sum != recorded {
		return fmt.Sprintf("state %s is not the one recorded", path)
	}
	return ""
}

// masked is an exception line as the report shows it.
func masked(l pipeline.ExceptionLine) pipeline.ExceptionLine {
	l.Registered, l.Feed = Masked(l.Field, l.Registered), Masked(l.Field, l.Feed)
	return l
}

// merge streams the state at path with the changed registrations' lines in
// their place, in registration_id order.
func merge(ctx context.Context, src pipeline.ReportSource, path string, ch pipeline.ReportChanges, fn func(pipeline.RegistrationLine) error) error {
	var changed []changedLines[pipeline.RegistrationLine]
	if err := src.EachChangedRegistration(ctx, ch.Mark, func(l pipeline.RegistrationLine) error {
		changed = append(changed, changedLines[pipeline.RegistrationLine]{l.RegistrationID, []pipeline.RegistrationLine{l}})
		return nil
	}); err != nil {
		return err
	}
	return mergeState(path, registrationFields, ch.State.Rows, changed, parseState, fn)
}

// mergeExceptions streams the exceptions' state at path with the changed
// registrations' lines in place of theirs, in registration_id order.
func mergeExceptions(ctx context.Context, src pipeline.ReportSource, path string, ch pipeline.ReportChanges, fn func(pipeline.ExceptionLine) error) error {
	var changed []changedLines[pipeline.ExceptionLine]
	if err := src.EachChangedException(ctx, ch.Mark, func(id string, lines []pipeline.ExceptionLine) error {
		r := changedLines[pipeline.ExceptionLine]{id: id}
		for _, l := range lines {
			r.lines = append(r.lines, masked(l))
		}
		changed = append(changed, r)
		return nil
	}); err != nil {
		return err
	}
	return mergeState(path, exceptionFields, ch.State.ExceptionRows, changed, parseException, fn)
}

// changedLines are a changed registration's lines now (none when it has
// none), which take the place of all of its lines in a state.
type changedLines[L any] struct {
	id    string
	lines []L
}

// mergeState streams the state file at path, whose records have fields
// fields and are read by parse, with the changed registrations' lines
// (in registration_id order) in place of theirs; the store recorded rows
// records.
func mergeState[L any](path string, fields int, rows int64, changed []changedLines[L], parse func([]string) (L, error), fn func(L) error) error {
	next := 0
	// upTo streams the changed registrations' lines up to id (all with last).
	upTo := func(id string, last bool) error {
		for ; next < len(changed) && (last || changed[next].id <= id); next++ {
			for _, l := range changed[next].lines {
				if err := fn(l); err != nil {
					return err
				}
			}
		}
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 256<<10))
	r.FieldsPerRecord, r.ReuseRecord = fields, true
	var n int64
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("report state %s: %w", path, err)
		}
		n++
		if err := upTo(rec[0], false); err != nil {
			return err
		}
		if next > 0 && changed[next-1].id == rec[0] {
			continue // a changed registration's lines took the place of this one
		}
		l, err := parse(rec)
		if err != nil {
			return fmt.Errorf("report state %s line %d: %w", path, n, err)
		}
		if err := fn(l); err != nil {
			return err
		}
	}
	if err := upTo("", true); err != nil {
		return err
	}
	if n != rows {
		return fmt.Errorf("report state %s: %d lines, the store recorded %d", path, n, rows)
	}
	return nil
}

func parseState(rec []string) (pipeline.RegistrationLine, error) {
	l := pipeline.RegistrationLine{RegistrationID: rec[0], Status: pipeline.Status(rec[1]), Reasons: rec[3],
		PaymentRef: rec[4], BatchID: rec[5], Station: rec[7]}
	if rec[2] != "" {
		fen, err := strconv.ParseInt(rec[2], 10, 64)
		if err != nil {
			return l, fmt.Errorf("amount %q: %w", rec[2], err)
		}
		l.AmountFen = &fen
	}
	var err error
	if l.Level, err = strconv.Atoi(rec[6]); err != nil {
		return l, fmt.Errorf("level %q: %w", rec[6], err)
	}
	return l, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// stateWriter writes a state file beside the current one; commit puts it in
// place.
type stateWriter struct {
	f    *os.File
	h    hash.Hash
	b    *bufio.Writer
	w    *csv.Writer
	rows int64
	rec  [registrationFields]string
}

func newStateWriter(path string) (*stateWriter, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".next-*.csv")
	if err != nil {
		return nil, err
	}
	s := &stateWriter{f: f, h: sha256.New()}
	s.b = bufio.NewWriterSize(io.MultiWriter(f, s.h), 256<<10)
	s.w = csv.NewWriter(s.b)
	return s, nil
}

// add writes a registration's line (parseState reads it back).
func (s *stateWriter) add(l *pipeline.RegistrationLine) error {
	s.rows++
	s.rec = [registrationFields]string{l.RegistrationID, string(l.Status), "", l.Reasons, l.PaymentRef, l.BatchID,
		strconv.Itoa(l.Level), l.Station}
	if l.AmountFen != nil {
		s.rec[2] = strconv.FormatInt(*l.AmountFen, 10)
	}
	return s.w.Write(s.rec[:])
}

// addException writes an exception's line (parseException reads it back).
func (s *stateWriter) addException(l *pipeline.ExceptionLine) error {
	s.rows++
	s.rec = [registrationFields]string{l.RegistrationID, l.Station, string(l.Status), string(l.Code), l.Field, l.Registered, l.Feed}
	return s.w.Write(s.rec[:exceptionFields])
}

// How many fields a registration's and an exception's line have in the state.
const (
	registrationFields = 8
	exceptionFields    = 7
)

func parseException(rec []string) (pipeline.ExceptionLine, error) {
	return pipeline.ExceptionLine{RegistrationID: rec[0], Station: rec[1], Status: pipeline.Status(rec[2]),
		Finding: pipeline.Finding{Code: pipeline.Status(rec[3]), Field: rec[4], Registered: rec[5], Feed: rec[6]}}, nil
}

// commit makes the written state the current one at path.
func (s *stateWriter) commit(path string) (pipeline.ReportState, error) {
	s.w.Flush()
	err := s.w.Error()
	if err == nil {
		err = s.b.Flush()
	}
	if err == nil {
		err = s.f.Sync()
	}
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(s.f.Name(), path)
	}
	if err != nil {
		os.Remove(s.f.Name())
		return pipeline.ReportState{}, fmt.Errorf("report state: %w", err)
	}
	return pipeline.ReportState{SHA256: hex.EncodeToString(s.h.Sum(nil)), Rows: s.rows}, nil
}

// abandon removes an unfinished state.
func (s *stateWriter) abandon() {
	s.f.Close()
	os.Remove(s.f.Name())
}
