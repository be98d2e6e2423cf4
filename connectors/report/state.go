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

// The registrations' state is registrations.csv's lines with each one's level
// and station, kept in Dir/.state. A report starts from the last one and
// reads from the store only the registrations noted as changed since
// (ReportSource.ReportChanges), so that a night's report costs what the night
// changed rather than every registration ever taken. The store records the
// state's SHA-256 and rows; a state that does not match them, no state, or
// more changes than maxChanged mean that every registration is read, as
// a first night does. Either way registrations.csv has the same bytes.
const (
	stateFolder = ".state"
	stateFile   = "registrations.csv"
)

// maxChanged is how many noted changes are merged at most: they are held in
// memory (about 200 bytes each) while the state streams past.
const maxChanged = 250000

// registrationLines is where a report's registration lines come from.
type registrationLines struct {
	each    func(fn func(pipeline.RegistrationLine) error) error
	how     string // for the log: "all" or "changed since the last report"
	changes pipeline.ReportChanges
	path    string // the state file, "" when no state is kept
}

// registrationLines chooses between the state and the changes since, or
// every registration (keep: whether a state is read and written at all).
func (w *Writer) registrationLines(ctx context.Context, src pipeline.ReportSource, keep bool) (*registrationLines, error) {
	all := func(reason string) *registrationLines {
		return &registrationLines{how: "every registration (" + reason + ")",
			each: func(fn func(pipeline.RegistrationLine) error) error { return src.EachRegistration(ctx, fn) }}
	}
	if !keep {
		return all("no state kept for this folder"), nil
	}
	ch, err := src.ReportChanges(ctx)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(w.Dir, stateFolder, stateFile)
	use := func(l *registrationLines) *registrationLines {
		l.changes, l.path = ch, path
		return l
	}
	switch {
	case ch.State.SHA256 == "":
		return use(all("no state yet")), nil
	case ch.Notes > maxChanged:
		return use(all(fmt.Sprintf("%d changes noted, more than %d", ch.Notes, maxChanged))), nil
	}
	sum, err := fileSHA256(path)
	if err != nil {
		return use(all(fmt.Sprintf("state unreadable: %v", err))), nil
	}
	if sum != ch.State.SHA256 {
		return use(all(fmt.Sprintf("state %s is not the one recorded", path))), nil
	}
	return use(&registrationLines{how: fmt.Sprintf("state and %d changes noted since", ch.Notes),
		each: func(fn func(pipeline.RegistrationLine) error) error { return merge(ctx, src, path, ch, fn) }}), nil
}

// merge streams the state at path with the changed registrations' lines in
// their place, in registration_id order.
func merge(ctx context.Context, src pipeline.ReportSource, path string, ch pipeline.ReportChanges, fn func(pipeline.RegistrationLine) error) error {
	var changed []pipeline.RegistrationLine
	if err := src.EachChangedRegistration(ctx, ch.Mark, func(l pipeline.RegistrationLine) error {
		changed = append(changed, l)
		return nil
	}); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 256<<10))
	r.FieldsPerRecord, r.ReuseRecord = 8, true
	var rows int64
	next := 0
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("report state %s: %w", path, err)
		}
		rows++
		id := rec[0]
		for ; next < len(changed) && changed[next].RegistrationID < id; next++ {
			if err := fn(changed[next]); err != nil {
				return err
			}
		}
		if next < len(changed) && changed[next].RegistrationID == id {
			if err := fn(changed[next]); err != nil {
				return err
			}
			next++
			continue
		}
		l, err := parseState(rec)
		if err != nil {
			return fmt.Errorf("report state %s line %d: %w", path, rows, err)
		}
		if err := fn(l); err != nil {
			return err
		}
	}
	for ; next < len(changed); next++ {
		if err := fn(changed[next]); err != nil {
			return err
		}
	}
	if rows != ch.State.Rows {
		return fmt.Errorf("report state %s: %d lines, the store recorded %d", path, rows, ch.State.Rows)
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

// stateWriter writes the next state beside the current one; commit puts it
// in place.
type stateWriter struct {
	f    *os.File
	h    hash.Hash
	b    *bufio.Writer
	w    *csv.Writer
	rows int64
	rec  [8]string
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

func (s *stateWriter) add(l *pipeline.RegistrationLine) error {
	s.rows++
	s.rec = [8]string{l.RegistrationID, string(l.Status), "", l.Reasons, l.PaymentRef, l.BatchID,
		strconv.Itoa(l.Level), l.Station}
	if l.AmountFen != nil {
		s.rec[2] = strconv.FormatInt(*l.AmountFen, 10)
	}
	return s.w.Write(s.rec[:])
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
