package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestSnapshotRestore: the second night's state is put back as it was, but
// for the inbox, whose files stay where they are (their inodes, and so
// zhutui's stamps of them, unchanged) and lose only what was added since.
func TestSnapshotRestore(t *testing.T) {
	dir := t.TempDir()
	work, snap := filepath.Join(dir, "work"), filepath.Join(dir, "snap")
	write := func(rel, body string) {
		t.Helper()
		p := filepath.Join(work, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	inode := func(rel string) uint64 {
		t.Helper()
		fi, err := os.Stat(filepath.Join(work, rel))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Sys().(*syscall.Stat_t).Ino
	}
	write("zhutui.db", "night 1")
	write("outbox/payments/B1.txt", "batch 1")
	write("inbox/registrations/night1-registrations.csv", "registrations 1")
	before := inode("inbox/registrations/night1-registrations.csv")

	inbox, err := snapshot(work, snap)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(snap, "inbox")); !os.IsNotExist(err) {
		t.Fatalf("the snapshot holds the inbox (%v)", err)
	}
	// The night.
	write("zhutui.db", "night 2")
	write("outbox/payments/B2.txt", "batch 2")
	write("reports/run-2/summary.txt", "run 2")
	write("inbox/registrations/night2-registrations.csv", "registrations 2")

	if err := restore(snap, work, inbox); err != nil {
		t.Fatal(err)
	}
	for rel, want := range map[string]string{
		"zhutui.db":              "night 1",
		"outbox/payments/B1.txt": "batch 1",
		"inbox/registrations/night1-registrations.csv": "registrations 1",
	} {
		if got, err := os.ReadFile(filepath.Join(work, rel)); err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", rel, got, err, want)
		}
	}
	for _, rel := range []string{"outbox/payments/B2.txt", "reports", "inbox/registrations/night2-registrations.csv"} {
		if _, err := os.Stat(filepath.Join(work, rel)); !os.IsNotExist(err) {
			t.Errorf("%s is still there (%v)", rel, err)
		}
	}
	if after := inode("inbox/registrations/night1-registrations.csv"); after != before {
		t.Errorf("the inbox file was copied (inode %d, was %d): its stamp would change", after, before)
	}
}
