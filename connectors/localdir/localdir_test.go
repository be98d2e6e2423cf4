package localdir_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"zhutui/connectors/localdir"
	"zhutui/pipeline/locationtest"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		raw, path, err string
	}{
		{raw: "file:///srv/zhutui/inbox", path: "/srv/zhutui/inbox"},
		{raw: "file://localhost/srv/out/", path: "/srv/out"},
		{raw: "file:///srv/a/../b", path: "/srv/b"},
		{raw: "sftp://u@h:22/srv", err: "want file:///absolute/dir"},
		{raw: "file://bank.example/srv", err: "has no host"},
		{raw: "file:relative/dir", err: "must be absolute"},
	} {
		d, err := localdir.Parse(tc.raw)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), tc.raw) {
				t.Errorf("Parse(%q) = %v, want an error naming it and saying %q", tc.raw, err, tc.err)
			}
			continue
		}
		if err != nil || d.Path != tc.path {
			t.Errorf("Parse(%q) = %v, %v; want path %s", tc.raw, d, err, tc.path)
		}
	}
	if got := localdir.New("/srv/out").String(); got != "file:///srv/out" {
		t.Errorf("String() = %s", got)
	}
}

func TestPutListOpen(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "outbox") // not there yet: Put makes it
	d := localdir.New(dir)
	if names, err := d.List(ctx); err != nil || len(names) != 0 {
		t.Fatalf("list of a folder not made yet = %v, %v; want none and no error", names, err)
	}
	locationtest.PutListOpen(t, d, func(name string) []byte {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		return b
	})
	locationtest.PlainNames(t, d, dir)
	locationtest.FolderGone(t, d, dir)
	locationtest.StageCommit(t, d, dir)
}

// TestPutOntoALinkToNothing: a payment file's name already taken by a link
// to nothing is an error that names the file, not an endless retry; nothing
// is left in the folder but the link.
func TestPutOntoALinkToNothing(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink(filepath.Join(dir, "gone"), filepath.Join(dir, "ZTPAY_B1.txt")); err != nil {
		t.Fatal(err)
	}
	d, err := localdir.Parse("file://" + dir)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := d.Put(context.Background(), "ZTPAY_B1.txt", []byte("data"))
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "ZTPAY_B1.txt") || !strings.Contains(err.Error(), "cannot be read") {
			t.Fatalf("put onto a link to nothing: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("put onto a link to nothing did not return")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the folder holds %d entries, want the link alone", len(entries))
	}
}

// TestStamp: a file's stamp stays while the file does, and changes with any
// write, even one that keeps its size and sets its mtime back.
func TestStamp(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("stamps are read on Linux only; elsewhere every file is hashed")
	}
	ctx := context.Background()
	dir := t.TempDir()
	d := localdir.New(dir)
	path := filepath.Join(dir, "export.csv")
	if err := os.WriteFile(path, []byte("registration_id\nR1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Just written, the file is too fresh to be known by its stamp: a write
	// in the same tick of the file clock would leave the stamp as it is.
	if fresh, err := d.Stamp(ctx, "export.csv"); err != nil || fresh != "" {
		t.Fatalf("a file changed just now has stamp %q, %v; want none", fresh, err)
	}
	defer func(f time.Duration) { localdir.FreshFor = f }(localdir.FreshFor)
	localdir.FreshFor = 0
	first, err := d.Stamp(ctx, "export.csv")
	if err != nil || first == "" {
		t.Fatalf("stamp = %q, %v", first, err)
	}
	if again, _ := d.Stamp(ctx, "export.csv"); again != first {
		t.Fatalf("the stamp of an unchanged file moved: %q then %q", first, again)
	}
	fi, _ := os.Stat(path)
	time.Sleep(10 * time.Millisecond) // ctime has nanoseconds, but a coarse clock could tick slowly
	if err := os.WriteFile(path, []byte("registration_id\nR2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if after, _ := d.Stamp(ctx, "export.csv"); after == first {
		t.Fatalf("same size, mtime set back, other bytes: the stamp %q did not change", after)
	}
	if _, err := d.Stamp(ctx, "missing.csv"); err == nil {
		t.Error("a missing file has a stamp")
	}
	if _, err := d.Stamp(ctx, "../x"); err == nil || !strings.Contains(err.Error(), "not a plain file name") {
		t.Errorf("stamp of a path: %v", err)
	}
}
