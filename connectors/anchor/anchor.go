// Package anchor keeps, outside the database, a line for every file a run
// delivered to the bank or the SMS platform, with the ledger's head at that
// moment. A database put back from a copy older than a delivery no longer
// holds that ledger entry (or holds another under its number); its runs would
// make and deliver again what was delivered since the copy, so Check refuses
// them.
//
// The file is text, one delivery a line, appended and synced:
//
//	2014-02-01T02:30:05+08:00 run=1 entries=45 head=3ba1…c3ba delivered=ZTPAY_B2014020101.txt
package anchor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const header = "# zhutui: every file delivered to the bank or the SMS platform, with the ledger's head then. " +
	"A database older than a line here is refused (README: \"A database put back from a copy\"). Do not edit.\n"

// Ledger is what the anchor reads from the database's ledger.
type Ledger interface {
	// LedgerHead returns the number of entries and the last one's hash.
	LedgerHead(ctx context.Context) (int64, string, error)
	// LedgerHash returns the hash of entry seq, false when there is none.
	LedgerHash(ctx context.Context, seq int64) (string, bool, error)
}

// File is an anchor file for one database.
type File struct {
	Path   string
	Ledger Ledger
	Now    func() time.Time
}

// mark is one line: a delivery and the ledger's head after it.
type mark struct {
	At        string
	RunID     int64
	Entries   int64
	Head      string
	Delivered string
	line      int
}

// Delivered appends a line for a file run runID delivered, with the
// ledger's head now, and syncs it to the disk. A line that could not be
// written whole (a full disk) is cut off again, and one that an earlier
// append left torn (a power cut) is cut off before this one: a torn line
// ahead of a whole one would refuse every run.
func (f *File) Delivered(ctx context.Context, runID int64, name string) error {
	entries, head, err := f.Ledger.LedgerHead(ctx)
	if err != nil {
		return err
	}
	if strings.ContainsAny(name, " \r\n") {
		return fmt.Errorf("anchor %s: a file name with a space or line break: %q", f.Path, name)
	}
	file, err := os.OpenFile(f.Path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("anchor: %w", err)
	}
	defer file.Close()
	// The last line is read, not the whole file, which grows by a line a
	// delivery and is never trimmed.
	fi, err := file.Stat()
	if err != nil {
		return fmt.Errorf("anchor %s: %w", f.Path, err)
	}
	size := fi.Size()
	tail := make([]byte, min(size, tailSize))
	if _, err := file.ReadAt(tail, size-int64(len(tail))); err != nil {
		return fmt.Errorf("anchor %s: %w", f.Path, err)
	}
	if size > tailSize && bytes.IndexByte(tail, '\n') < 0 {
		// A last line longer than any Delivered writes: read it whole, as
		// Check does.
		tail = make([]byte, size)
		if _, err := file.ReadAt(tail, 0); err != nil {
			return fmt.Errorf("anchor %s: %w", f.Path, err)
		}
	}
	var b strings.Builder
	end := size
	if whole, torn := cutTorn(tail); torn {
		end -= int64(len(tail) - len(whole))
	} else if end > 0 && tail[len(tail)-1] != '\n' {
		b.WriteByte('\n') // a whole last line with no line break (an editor's)
	}
	if end == 0 {
		b.WriteString(header)
	}
	fmt.Fprintf(&b, "%s run=%d entries=%d head=%s delivered=%s\n", f.Now().Format(time.RFC3339), runID, entries, head, name)
	if _, err := file.WriteAt([]byte(b.String()), end); err != nil {
		return f.undo(file, size, err)
	}
	if end < size { // a torn line cut off may have been longer than this one
		if err := file.Truncate(end + int64(b.Len())); err != nil {
			return f.undo(file, size, err)
		}
	}
	if err := file.Sync(); err != nil {
		return f.undo(file, size, err)
	}
	return file.Close()
}

// tailSize is how much of the anchor file's end Delivered reads for its last
// line (a line is about 150 bytes).
const tailSize = 4096

// undo cuts the anchor file back to size after a failed append and returns
// the failure.
func (f *File) undo(file *os.File, size int64, err error) error {
	if terr := file.Truncate(size); terr != nil {
		return fmt.Errorf("anchor %s: %w (and cutting off what was written of the line failed: %w)", f.Path, err, terr)
	}
	return fmt.Errorf("anchor %s: %w", f.Path, err)
}

// cutTorn returns data without a last line torn by an append cut off (no
// line break, and it does not parse), and whether there was one.
func cutTorn(data []byte) ([]byte, bool) {
	if len(data) == 0 || data[len(data)-1] == '\n' {
		return data, false
	}
	i := bytes.LastIndexByte(data, '\n') + 1
	last := string(data[i:])
	if strings.HasPrefix(last, "#") {
		return data, false
	}
	if _, err := parse(last); err == nil {
		return data, false
	}
	return data[:i], true
}

// ErrBehind means the database is older than a delivery its anchor file
// records: no run may start on it.
var ErrBehind = errors.New("the database is older than what was delivered from it")

// Check returns an error wrapping ErrBehind when the database's ledger does
// not hold the entry the anchor file's last line recorded; nil when it does,
// or when there is no anchor file yet.
func (f *File) Check(ctx context.Context) error {
	marks, err := f.read()
	if err != nil || len(marks) == 0 {
		return err
	}
	last := marks[len(marks)-1]
	ok, err := f.holds(ctx, last)
	if err != nil || ok {
		return err
	}
	// The deliveries the database does not know of: from the first line
	// whose entry it does not hold.
	first := len(marks) - 1
	for first > 0 {
		ok, err := f.holds(ctx, marks[first-1])
		if err != nil {
			return err
		}
		if ok {
			break
		}
		first--
	}
	entries, _, err := f.Ledger.LedgerHead(ctx)
	if err != nil {
		return err
	}
	lost := marks[first:]
	const shown = 10
	var names []string
	for _, m := range lost[:min(len(lost), shown)] {
		names = append(names, fmt.Sprintf("%s of run %d", m.Delivered, m.RunID))
	}
	list := strings.Join(names, ", ")
	if len(lost) > shown {
		list += fmt.Sprintf(" and %d more", len(lost)-shown)
	}
	m := lost[0]
	what := fmt.Sprintf("this database's ledger has %d", entries)
	if entries >= m.Entries {
		what = fmt.Sprintf("this database's entry %d is another", m.Entries)
	}
	return fmt.Errorf("%w: run %d delivered %s at %s, when the ledger had %d entries (%s, line %d), but %s: "+
		"the database was put back from an older copy, or replaced, and its runs would make and deliver again what "+
		"was delivered since (%s), so none starts. Put the newest copy of the database back; if there is none, and "+
		"the bank and the SMS platform know what was delivered since the copy, move %s aside and run again",
		ErrBehind, m.RunID, m.Delivered, m.At, m.Entries, f.Path, m.line, what, list, f.Path)
}

// Ready is Check, and then makes sure a line can be appended (creating the
// file, empty, if it is not there): a run that could not write the line
// after its first delivery would fail there, with its other batches left.
func (f *File) Ready(ctx context.Context) error {
	if err := f.Check(ctx); err != nil {
		return err
	}
	file, err := os.OpenFile(f.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("anchor: %w", err)
	}
	return file.Close()
}

// holds says whether the database's ledger holds the entry m recorded.
func (f *File) holds(ctx context.Context, m mark) (bool, error) {
	if m.Entries == 0 {
		return true, nil
	}
	hash, ok, err := f.Ledger.LedgerHash(ctx, m.Entries)
	return ok && hash == m.Head, err
}

// read reads every line of the anchor file; none when it does not exist. A
// last line torn by an append cut off is not read: its delivery has no line.
func (f *File) read() ([]mark, error) {
	data, err := os.ReadFile(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		// None yet; but a folder that is not there would fail the first
		// delivery after its files were put.
		if _, err := os.Stat(filepath.Dir(f.Path)); err != nil {
			return nil, fmt.Errorf("anchor %s: its folder: %w", f.Path, err)
		}
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("anchor: %w", err)
	}
	data, _ = cutTorn(data)
	var marks []mark
	for n, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m, err := parse(line)
		if err != nil {
			return nil, fmt.Errorf("anchor %s, line %d: %w", f.Path, n+1, err)
		}
		m.line = n + 1
		marks = append(marks, m)
	}
	return marks, nil
}

func parse(line string) (mark, error) {
	fields := strings.Fields(line)
	if len(fields) != 5 {
		return mark{}, fmt.Errorf("want 5 fields (time run= entries= head= delivered=), got %d", len(fields))
	}
	m := mark{At: fields[0]}
	if _, err := time.Parse(time.RFC3339, m.At); err != nil {
		return mark{}, fmt.Errorf("time: %w", err)
	}
	values := map[string]string{}
	for i, key := range []string{"run", "entries", "head", "delivered"} {
		v, ok := strings.CutPrefix(fields[i+1], key+"=")
		if !ok || v == "" {
			return mark{}, fmt.Errorf("field %d: want %s=…, got %q", i+2, key, fields[i+1])
		}
		values[key] = v
	}
	var err error
	if m.RunID, err = strconv.ParseInt(values["run"], 10, 64); err != nil || m.RunID <= 0 {
		return mark{}, fmt.Errorf("run: %q is not a run", values["run"])
	}
	if m.Entries, err = strconv.ParseInt(values["entries"], 10, 64); err != nil || m.Entries < 0 {
		return mark{}, fmt.Errorf("entries: %q is not a count", values["entries"])
	}
	m.Head, m.Delivered = values["head"], values["delivered"]
	return m, nil
}
