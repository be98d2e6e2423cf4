// Package csvfile reads the two CSV inputs of INTERFACES.md §2: the
// registration export and the appraisal centre's certificate feed. Files are
// read as a stream in two passes (Inspect, then Read*), so memory does not grow
// with their size.
package csvfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"

	"zhutui/pipeline"
)

// The encodings accepted on input.
const (
	UTF8    = "utf-8"
	GB18030 = "gb18030"
)

// Inspect reads r to the end, hashing it and checking whether it is valid
// UTF-8; a file that is not is to be read as GB18030.
// The UTF-8 check runs on the other core while this one reads and hashes.
func Inspect(r io.Reader) (pipeline.Inspection, error) {
	h := sha256.New()
	v := &utf8Check{valid: true}
	const buffers, size = 4, 256 << 10
	free := make(chan []byte, buffers)
	for range buffers {
		free <- make([]byte, size)
	}
	full := make(chan []byte, buffers)
	checked := make(chan struct{})
	go func() {
		for b := range full {
			v.Write(b)
			free <- b[:cap(b)]
		}
		close(checked)
	}()
	var n int64
	var err error
	for {
		buf := <-free
		k, rerr := io.ReadFull(r, buf)
		if k > 0 {
			h.Write(buf[:k])
			n += int64(k)
			full <- buf[:k]
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			err = rerr
			break
		}
	}
	close(full)
	<-checked
	if err != nil {
		return pipeline.Inspection{}, err
	}
	enc := GB18030
	if v.valid && len(v.tail) == 0 {
		enc = UTF8
	}
	return pipeline.Inspection{Size: n, SHA256: hex.EncodeToString(h.Sum(nil)), Encoding: enc}, nil
}

// utf8Check is a writer that tracks whether everything written is valid
// UTF-8, carrying an incomplete sequence across writes.
type utf8Check struct {
	valid bool
	tail  []byte
}

func (c *utf8Check) Write(p []byte) (int, error) {
	if !c.valid {
		return len(p), nil
	}
	b := p
	if len(c.tail) > 0 {
		b = append(c.tail, p...)
		c.tail = nil
	}
	// Hold back an incomplete rune at the end for the next write.
	i := len(b)
	for j := len(b) - 1; j >= 0 && j >= len(b)-utf8.UTFMax; j-- {
		if utf8.RuneStart(b[j]) {
			if !utf8.FullRune(b[j:]) {
				i = j
			}
			break
		}
	}
	if !utf8.Valid(b[:i]) {
		c.valid = false
		return len(p), nil
	}
	c.tail = append([]byte(nil), b[i:]...)
	return len(p), nil
}

// column is one column of an input format, with its English and Chinese names.
type column struct {
	en, zh   string
	required bool
}

// readFailed says whether err, met reading a CSV file, is a failure to read
// it (a disk's or a connection's error) rather than something in its bytes:
// csv.Reader reports a fault in the file's syntax as a *csv.ParseError, and
// the UTF-8 check bytes that are not UTF-8 as encoding.ErrInvalidUTF8
// (GB18030's decoder replaces what it cannot read). Such a failure is not the file's fault: it must fail the
// stage, to be taken again by the next night, and not quarantine the file,
// which would refuse the same bytes for ever after.
func readFailed(err error) bool {
	var pe *csv.ParseError
	return !errors.As(err, &pe) && !errors.Is(err, encoding.ErrInvalidUTF8)
}

// table reads the rows of one CSV file, finding columns by header name.
type table struct {
	file  string
	csv   *csv.Reader
	index map[string]int // English name to position
	width int
	line  int
	rec   []string
}

// newTable reads the header of a file in the given encoding and maps its
// columns. Header problems are *pipeline.FileError; a failure to read the
// file (see readFailed) is another error.
func newTable(file string, r io.Reader, enc string, cols []column) (*table, error) {
	if enc == GB18030 {
		r = transform.NewReader(r, simplifiedchinese.GB18030.NewDecoder())
	} else {
		r = transform.NewReader(r, encoding.UTF8Validator)
	}
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, &pipeline.FileError{File: file, Reason: "empty file: no header"}
	}
	if err != nil && !readFailed(err) {
		return nil, &pipeline.FileError{File: file, Line: 1, Reason: "unreadable header: " + csvReason(err)}
	}
	if err != nil {
		return nil, fmt.Errorf("%s:1: read: %w", file, err)
	}
	byName := make(map[string]string, 2*len(cols))
	for _, c := range cols {
		byName[c.en] = c.en
		byName[pipeline.NormalizeOccupation(c.zh)] = c.en
	}
	t := &table{file: file, csv: cr, index: make(map[string]int), width: len(header)}
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		if strings.ContainsRune(h, utf8.RuneError) {
			return nil, &pipeline.FileError{File: file, Line: 1, Reason: "header is not valid " + enc}
		}
		en, known := byName[strings.ToLower(pipeline.NormalizeOccupation(h))]
		if !known {
			continue // unknown columns are ignored
		}
		if _, dup := t.index[en]; dup {
			return nil, &pipeline.FileError{File: file, Line: 1, Reason: fmt.Sprintf("column %s appears twice", en)}
		}
		t.index[en] = i
	}
	var missing []string
	for _, c := range cols {
		if _, ok := t.index[c.en]; c.required && !ok {
			missing = append(missing, c.en+" ("+c.zh+")")
		}
	}
	if len(missing) > 0 {
		return nil, &pipeline.FileError{File: file, Line: 1, Reason: "required column missing: " + strings.Join(missing, ", ")}
	}
	return t, nil
}

// next reads the next row. It returns io.EOF at the end, a *pipeline.Reject
// for a row that cannot be read, a *pipeline.FileError when the file turns
// out to be undecodable, and another error when reading it failed.
func (t *table) next() error {
	rec, err := t.csv.Read()
	if errors.Is(err, io.EOF) {
		return io.EOF
	}
	for _, f := range rec {
		if strings.ContainsRune(f, utf8.RuneError) {
			line, _ := t.csv.FieldPos(0)
			return &pipeline.FileError{File: t.file, Line: line, Reason: "undecodable bytes (neither UTF-8 nor GB18030)"}
		}
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		t.line = pe.StartLine
		if errors.Is(pe.Err, csv.ErrQuote) && pe.Line > pe.StartLine {
			// The quote ran on past its line: the lines it took in are no
			// longer rows, and rejecting one row would lose them unseen.
			return &pipeline.FileError{File: t.file, Line: pe.StartLine, Reason: fmt.Sprintf(
				"a quoted field that opens on this line is not closed where it should be: lines %d to %d cannot be read as rows",
				pe.StartLine, pe.Line)}
		}
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			return &pipeline.Reject{File: t.file, Line: t.line,
				Reason: fmt.Sprintf("wrong column count: %d fields, the header has %d", len(rec), t.width)}
		}
		return &pipeline.Reject{File: t.file, Line: t.line, Reason: csvReason(err)}
	}
	if err != nil && !readFailed(err) {
		return &pipeline.FileError{File: t.file, Line: t.line + 1, Reason: "undecodable: " + err.Error()}
	}
	if err != nil {
		return fmt.Errorf("%s:%d: read: %w", t.file, t.line+1, err)
	}
	t.line, _ = t.csv.FieldPos(0)
	t.rec = rec
	return nil
}

// get returns the value of a column in the current row, "" when the file has
// no such column.
func (t *table) get(en string) string {
	if i, ok := t.index[en]; ok {
		return t.rec[i]
	}
	return ""
}

// date reads a required date column.
func (t *table) date(en string) (pipeline.Date, error) {
	v := pipeline.NormalizeText(t.get(en))
	if v == "" {
		return pipeline.Date{}, errors.New("empty")
	}
	var d pipeline.Date
	err := d.UnmarshalText([]byte(v))
	return d, err
}

func (t *table) reject(field string, err error) *pipeline.Reject {
	return &pipeline.Reject{File: t.file, Line: t.line, Field: field, Reason: err.Error()}
}

func csvReason(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// each runs the row loop shared by both formats: parse turns the current row
// into a value and hands it on, or returns a *pipeline.Reject.
func (t *table) each(parse func() error, reject func(pipeline.Reject) error) error {
	for {
		err := t.next()
		if err == nil {
			err = parse()
		}
		var rj *pipeline.Reject
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			return nil
		case errors.As(err, &rj):
			if err := reject(*rj); err != nil {
				return err
			}
		default:
			return err
		}
	}
}

// HeaderKind says which of the two inputs a file's first line is the header
// of: the kind whose required columns it has every one of, or "" for
// neither. It lets `zhutui ingest` refuse a file given as the other kind
// before anything is recorded: quarantined under the wrong kind, its bytes
// would be refused as the right one too (a file is known by location, name
// and SHA-256, whatever its kind).
func HeaderKind(line []byte) pipeline.FileKind {
	enc := UTF8
	if !utf8.Valid(line) {
		enc = GB18030
	}
	for _, k := range []struct {
		kind pipeline.FileKind
		cols []column
	}{
		{pipeline.KindRegistrations, registrationColumns},
		{pipeline.KindCertificates, certificateColumns},
	} {
		if _, err := newTable("", bytes.NewReader(line), enc, k.cols); err == nil {
			return k.kind
		}
	}
	return ""
}
