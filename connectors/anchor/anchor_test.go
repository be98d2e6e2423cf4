package anchor_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"zhutui/connectors/anchor"
)

// ledger is a ledger of hashes h1, h2, … (or other ones, after fork).
type ledger struct {
	entries int64
	fork    int64 // entries from this one on have other hashes; 0: none
}

func (l *ledger) hash(seq int64) string {
	if l.fork > 0 && seq >= l.fork {
		return fmt.Sprintf("x%d", seq)
	}
	return fmt.Sprintf("h%d", seq)
}

func (l *ledger) LedgerHead(ctx context.Context) (int64, string, error) {
	return l.entries, l.hash(l.entries), nil
}

func (l *ledger) LedgerHash(ctx context.Context, seq int64) (string, bool, error) {
	if seq < 1 || seq > l.entries {
		return "", false, nil
	}
	return l.hash(seq), true, nil
}

func newFile(t *testing.T, l *ledger) *anchor.File {
	at := time.Date(2014, 2, 1, 2, 30, 0, 0, time.FixedZone("CST", 8*3600))
	return &anchor.File{Path: filepath.Join(t.TempDir(), "zhutui.ledger.anchor"), Ledger: l, Now: func() time.Time { return at }}
}

func TestDeliveredThenChecked(t *testing.T) {
	ctx := context.Background()
	l := &ledger{}
	f := newFile(t, l)
	if err := f.Check(ctx); err != nil {
		t.Fatalf("no anchor file yet: %v", err)
	}
	l.entries = 33
	if err := f.Delivered(ctx, 1, "ZTPAY_B2014020101.txt"); err != nil {
		t.Fatal(err)
	}
	l.entries = 35
	if err := f.Delivered(ctx, 1, "ZTSMS_B2014020101_1.csv"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(f.Path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "# zhutui: ") ||
		lines[1] != "2014-02-01T02:30:00+08:00 run=1 entries=33 head=h33 delivered=ZTPAY_B2014020101.txt" ||
		lines[2] != "2014-02-01T02:30:00+08:00 run=1 entries=35 head=h35 delivered=ZTSMS_B2014020101_1.csv" || lines[3] != "" {
		t.Fatalf("anchor file:\n%s", b)
	}
	if fi, err := os.Stat(f.Path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("anchor file mode: %v, %v", fi, err)
	}
	for _, n := range []int64{35, 40} {
		l.entries = n
		if err := f.Check(ctx); err != nil {
			t.Errorf("a ledger of %d entries holding the anchored ones: %v", n, err)
		}
	}

	t.Run("Behind", func(t *testing.T) {
		l.entries = 34 // put back from a copy made between the two deliveries
		err := f.Check(ctx)
		if !errors.Is(err, anchor.ErrBehind) ||
			!strings.Contains(err.Error(), "run 1 delivered ZTSMS_B2014020101_1.csv at 2014-02-01T02:30:00+08:00, when the ledger had 35 entries ("+f.Path+", line 3), but this database's ledger has 34: ") ||
			!strings.Contains(err.Error(), "what was delivered since (ZTSMS_B2014020101_1.csv of run 1), so none starts") {
			t.Errorf("err = %v", err)
		}
		l.entries = 0 // older than both
		if err := f.Check(ctx); err == nil || !strings.Contains(err.Error(), "(ZTPAY_B2014020101.txt of run 1, ZTSMS_B2014020101_1.csv of run 1)") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("Replaced", func(t *testing.T) {
		l.entries, l.fork = 50, 34
		defer func() { l.fork = 0 }()
		err := f.Check(ctx)
		if !errors.Is(err, anchor.ErrBehind) || !strings.Contains(err.Error(), "but this database's entry 35 is another: ") {
			t.Errorf("err = %v", err)
		}
		l.fork = 30
		if err := f.Check(ctx); err == nil || !strings.Contains(err.Error(), "but this database's entry 33 is another: ") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestManyDeliveriesListed(t *testing.T) {
	ctx := context.Background()
	l := &ledger{}
	f := newFile(t, l)
	for i := 1; i <= 13; i++ {
		l.entries = int64(10 * i)
		if err := f.Delivered(ctx, 2, fmt.Sprintf("ZTPAY_B20140201%02d.txt", i)); err != nil {
			t.Fatal(err)
		}
	}
	l.entries = 25 // holds the first two
	err := f.Check(ctx)
	if err == nil || !strings.Contains(err.Error(), "run 2 delivered ZTPAY_B2014020103.txt at ") ||
		!strings.Contains(err.Error(), "(ZTPAY_B2014020103.txt of run 2, ") || !strings.Contains(err.Error(), "ZTPAY_B2014020112.txt of run 2 and 1 more)") {
		t.Errorf("err = %v", err)
	}
}

func TestBadAnchorFile(t *testing.T) {
	ctx := context.Background()
	l := &ledger{entries: 5}
	for _, tc := range []struct{ text, want string }{
		{"2014-02-01T02:30:00+08:00 run=1 entries=5 head=h5\n", "line 1: want 5 fields"},
		{"# c\n2014-02-01T02:30:00+08:00 run=1 entries=five head=h5 delivered=x\n", "line 2: entries: \"five\" is not a count"},
		{"yesterday run=1 entries=5 head=h5 delivered=x\n", "line 1: time: "},
		{"2014-02-01T02:30:00+08:00 run=0 entries=5 head=h5 delivered=x\n", "line 1: run: \"0\" is not a run"},
		{"2014-02-01T02:30:00+08:00 run=1 entries=5 hash=h5 delivered=x\n", "line 1: field 4: want head=…"},
	} {
		f := newFile(t, l)
		if err := os.WriteFile(f.Path, []byte(tc.text), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := f.Check(ctx); err == nil || errors.Is(err, anchor.ErrBehind) || !strings.Contains(err.Error(), f.Path+", "+tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.text, err, tc.want)
		}
	}
	f := &anchor.File{Path: filepath.Join(t.TempDir(), "gone", "zhutui.ledger.anchor"), Ledger: l, Now: time.Now}
	if err := f.Check(ctx); err == nil || !strings.Contains(err.Error(), "its folder: ") {
		t.Errorf("an anchor in a folder that is not there: %v", err)
	}
}

// BenchmarkDelivered: one line appended and synced, as after each file a
// night delivers (92 on a million-row first night).
func BenchmarkDelivered(b *testing.B) {
	ctx := context.Background()
	l := &ledger{entries: 1}
	f := &anchor.File{Path: filepath.Join(b.TempDir(), "zhutui.ledger.anchor"), Ledger: l, Now: time.Now}
	for i := 0; b.Loop(); i++ {
		l.entries++
		if err := f.Delivered(ctx, 1, fmt.Sprintf("ZTPAY_B20140201%02d.txt", i%100)); err != nil {
			b.Fatal(err)
		}
	}
}

// TestReady: a run checks before it starts that it can append to the anchor
// file; the empty file it makes gets its header with the first line.
func TestReady(t *testing.T) {
	ctx := context.Background()
	l := &ledger{entries: 3}
	f := newFile(t, l)
	if err := f.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(f.Path); err != nil || fi.Size() != 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the file Ready made: %v, %v", fi, err)
	}
	if err := f.Delivered(ctx, 1, "ZTPAY_B2014020101.txt"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(f.Path); !strings.HasPrefix(string(b), "# zhutui: ") || strings.Count(string(b), "\n") != 2 {
		t.Errorf("anchor file:\n%s", b)
	}
	// A path under a file, not a folder: refused before the run starts.
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	g := &anchor.File{Path: filepath.Join(notDir, "zhutui.ledger.anchor"), Ledger: l, Now: time.Now}
	if err := g.Ready(ctx); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("Ready under a file: %v", err)
	}
}

// TestTornLine: an append cut off by a power cut leaves a last line with no
// line break that does not parse. It is not read (its delivery has no line,
// as if it had not been appended), and the next append cuts it off first:
// after it, the torn text would have been a line that does not parse,
// refusing every run. A whole last line with no line break (an editor's) is
// read, and the next append starts a line of its own.
func TestTornLine(t *testing.T) {
	ctx := context.Background()
	l := &ledger{entries: 7}
	const whole = "2014-02-01T02:30:00+08:00 run=1 entries=5 head=h5 delivered=ZTPAY_B2014020101.txt"
	for _, tc := range []struct{ name, text, want string }{
		{"Torn", whole + "\n2014-02-02T02:30:00+08:00 run=2 entr", whole + "\n"},
		{"TornLongerThanATail", whole + "\n2014-02-02T02:30:00+08:00 run=2 entries=6 head=" + strings.Repeat("a", 5000), whole + "\n"},
		{"TornLongerThanTheNext", whole + "\n2014-02-02T02:30:00+08:00 run=2 entries=6 head=" + strings.Repeat("a", 200), whole + "\n"},
		{"TornHeader", "# zhutui: ", "# zhutui: \n"},
		{"TornHeaderless", "2014-02-0", ""},
		{"NoLineBreak", whole, whole + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFile(t, l)
			if err := os.WriteFile(f.Path, []byte(tc.text), 0o600); err != nil {
				t.Fatal(err)
			}
			l.fork = 6 // entry 5 is held, 6 on are not: a line for entry 7 would refuse
			if err := f.Check(ctx); err != nil {
				t.Fatalf("check: %v", err)
			}
			l.fork = 0
			if err := f.Delivered(ctx, 3, "ZTPAY_B2014020301.txt"); err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(f.Path)
			line := "2014-02-01T02:30:00+08:00 run=3 entries=7 head=h7 delivered=ZTPAY_B2014020301.txt\n"
			want := tc.want + line
			if tc.want == "" {
				want = strings.TrimSuffix(anchorHeader(t), line) + line
			}
			if string(b) != want {
				t.Errorf("after the append:\n%q\nwant\n%q", b, want)
			}
			if err := f.Check(ctx); err != nil {
				t.Errorf("check after the append: %v", err)
			}
		})
	}
}

// anchorHeader returns a new anchor file's first append: the header and a
// line for run 3's ZTPAY_B2014020301.txt at entry 7.
func anchorHeader(t *testing.T) string {
	f := newFile(t, &ledger{entries: 7})
	if err := f.Delivered(context.Background(), 3, "ZTPAY_B2014020301.txt"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(f.Path)
	return string(b)
}

// TestAppendFails: a line that cannot be written whole (a full disk; here the
// process's file size limit, which fails a write part of the way as a full
// disk does) is cut off again, so that the file reads as before, and the
// error names the file.
func TestAppendFails(t *testing.T) {
	ctx := context.Background()
	l := &ledger{entries: 5}
	f := newFile(t, l)
	if err := f.Delivered(ctx, 1, "ZTPAY_B2014020101.txt"); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(f.Path)
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	signal.Ignore(syscall.SIGXFSZ)
	defer signal.Reset(syscall.SIGXFSZ)
	limit := old
	limit.Cur = uint64(len(before)) + 40 // part of the next line fits
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &limit); err != nil {
		t.Fatal(err)
	}
	l.entries = 7
	err := f.Delivered(ctx, 2, "ZTPAY_B2014020201.txt")
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	if err == nil || !strings.HasPrefix(err.Error(), "anchor "+f.Path+": ") || !errors.Is(err, syscall.EFBIG) {
		t.Fatalf("an append past the limit: %v", err)
	}
	if after, _ := os.ReadFile(f.Path); string(after) != string(before) {
		t.Fatalf("after the failed append:\n%q\nwant it as before:\n%q", after, before)
	}
	if err := f.Delivered(ctx, 2, "ZTPAY_B2014020201.txt"); err != nil {
		t.Fatal(err)
	}
	if err := f.Check(ctx); err != nil {
		t.Fatal(err)
	}
}
