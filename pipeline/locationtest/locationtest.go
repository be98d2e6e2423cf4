// Package locationtest checks that an implementation of pipeline.Location
// keeps the contract every connector's location shares.
package locationtest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"zhutui/pipeline"
)

// PutListOpen puts one file into loc, which must hold no file yet, and checks
// Put, List and Open: a first put writes, the same bytes again write nothing
// and say so, other bytes (also longer ones) under the name fail with
// pipeline.ErrClash and leave the file as it was, List shows the one file and
// no temporary one, and Open reads the bytes back. stored returns what the
// folder behind loc holds under a name, read without loc.
func PutListOpen(t *testing.T, loc pipeline.Location, stored func(name string) []byte) {
	t.Helper()
	ctx := context.Background()
	const name = "ZTPAY_B1.txt"
	data := []byte("H|B1|...\r\n")
	if already, err := loc.Put(ctx, name, data); err != nil || already {
		t.Fatalf("put: %v, already %v", err, already)
	}
	if got := stored(name); !bytes.Equal(got, data) {
		t.Fatalf("the folder holds %q", got)
	}
	if already, err := loc.Put(ctx, name, data); err != nil || !already {
		t.Fatalf("second put of the same bytes: %v, already %v", err, already)
	}
	for _, other := range [][]byte{[]byte("other"), append(append([]byte{}, data...), 'x')} {
		if _, err := loc.Put(ctx, name, other); !errors.Is(err, pipeline.ErrClash) || !strings.Contains(err.Error(), name) {
			t.Fatalf("put of other bytes %q: %v, want ErrClash naming the file", other, err)
		}
	}
	if got := stored(name); !bytes.Equal(got, data) {
		t.Fatal("a clash overwrote the file")
	}
	names, err := loc.List(ctx)
	if err != nil || len(names) != 1 || names[0] != name {
		t.Fatalf("list = %v, %v (no temporary file may be left)", names, err)
	}
	// The deliver stage asks this of the bank's folder (see pipeline.Exists),
	// by a stamp where the location gives one, else by List.
	for _, l := range []pipeline.Location{loc, listOnly{loc}} {
		there, err := pipeline.Exists(ctx, l, name)
		missing, merr := pipeline.Exists(ctx, l, "ZTPAY_B2.txt")
		if err != nil || !there || merr != nil || missing {
			t.Fatalf("%T: exists %s = %v, %v; exists a missing file = %v, %v", l, name, there, err, missing, merr)
		}
	}
	f, err := loc.Open(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f)
	f.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %q, %v", got, err)
	}
}

// PlainNames checks that loc takes plain file names only (no folder in a
// name, and no hidden name to put) and lists the files of its folder alone,
// sorted. folder is the local path behind loc; it holds what PutListOpen
// left (ZTPAY_B1.txt).
func PlainNames(t *testing.T, loc pipeline.Location, folder string) {
	t.Helper()
	ctx := context.Background()
	for _, name := range []string{"../escape.txt", "sub/x.txt", ".hidden"} {
		if _, err := loc.Put(ctx, name, []byte("x")); err == nil || !strings.Contains(err.Error(), "not a plain file name") {
			t.Errorf("put %q: %v, want refused", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(folder, "..", "escape.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a put escaped its folder")
	}
	for _, name := range []string{"../escape.txt", "sub/x.txt"} {
		if _, err := loc.Open(ctx, name); err == nil || !strings.Contains(err.Error(), "not a plain file name") {
			t.Errorf("open %q: %v, want refused", name, err)
		}
		if st, ok := loc.(pipeline.Stamper); ok {
			if _, err := st.Stamp(ctx, name); err == nil || !strings.Contains(err.Error(), "not a plain file name") {
				t.Errorf("stamp %q: %v, want refused", name, err)
			}
		}
	}
	// A folder, even one named like an inbound file, is not listed.
	for _, sub := range []string{"archive", "export.csv"} {
		if err := os.Mkdir(filepath.Join(folder, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := loc.Put(ctx, "A.txt", []byte("a")); err != nil {
		t.Fatal(err)
	}
	if names, err := loc.List(ctx); err != nil || strings.Join(names, ",") != "A.txt,ZTPAY_B1.txt" {
		t.Errorf("list = %v, %v; want the two files, sorted", names, err)
	}
}

// FolderGone checks loc's FolderChecker: nil while folder, the local path
// behind loc, is there; an error wrapping fs.ErrNotExist once it is moved
// away, while a file's Stamp says only that the file is not there; an error
// when a file stands in its place. It puts the folder back.
func FolderGone(t *testing.T, loc pipeline.Location, folder string) {
	t.Helper()
	ctx := context.Background()
	fc, ok := loc.(pipeline.FolderChecker)
	if !ok {
		t.Fatalf("%T cannot tell whether its folder is there", loc)
	}
	if err := fc.CheckFolder(ctx); err != nil {
		t.Fatalf("check of a folder that is there: %v", err)
	}
	aside := folder + ".aside"
	if err := os.Rename(folder, aside); err != nil {
		t.Fatal(err)
	}
	defer func() {
		os.Remove(folder)
		if err := os.Rename(aside, folder); err != nil {
			t.Fatal(err)
		}
	}()
	if err := fc.CheckFolder(ctx); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), loc.String()) {
		t.Errorf("check of a folder moved away: %v; want fs.ErrNotExist, naming %s", err, loc)
	}
	if st, ok := loc.(pipeline.Stamper); ok {
		if _, err := st.Stamp(ctx, "ZTPAY_B1.txt"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("stamp of a file in a folder moved away: %v; want fs.ErrNotExist (why deliver asks for the folder)", err)
		}
	}
	if err := os.WriteFile(folder, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := fc.CheckFolder(ctx); err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("check with a file in the folder's place: %v; want an error, not fs.ErrNotExist", err)
	}
}

// listOnly hides a location's Stamp.
type listOnly struct{ pipeline.Location }

// StageCommit checks loc's Stager in folder, the local path behind loc: a
// staged file is not under its final name until committed; a staged copy
// is replaced by the next Stage, and a commit of other bytes than it holds
// fails; a commit moves the copy into place and leaves no staged copy; the
// same bytes committed again, or staged while in place, are already there;
// other bytes staged onto the final name clash; a committed file taken away
// (neither it nor a staged copy there) fails with pipeline.ErrNotStaged
// naming the file; and a staged copy left beside the same bytes in place (a
// commit cut off before it removed the copy) is removed by the next commit.
func StageCommit(t *testing.T, loc pipeline.Location, folder string) {
	t.Helper()
	ctx := context.Background()
	st, ok := loc.(pipeline.Stager)
	if !ok {
		t.Fatalf("%T cannot stage", loc)
	}
	const name = "ZTSMS_B1_1.csv"
	final, staged := filepath.Join(folder, name), filepath.Join(folder, "."+name+".part")
	data, other := []byte("message_id,mobile,content\n"), []byte("other")
	exists := func(p string) bool {
		_, err := os.Stat(p)
		return err == nil
	}
	for _, b := range [][]byte{other, data} {
		if already, err := st.Stage(ctx, name, b); err != nil || already {
			t.Fatalf("stage %q: %v, already %v", b, err, already)
		}
		if got, err := os.ReadFile(staged); err != nil || !bytes.Equal(got, b) || exists(final) {
			t.Fatalf("after staging %q: the staged copy holds %q (%v), the final name there: %v", b, got, err, exists(final))
		}
	}
	if _, err := st.Commit(ctx, name, other); err == nil || !strings.Contains(err.Error(), "other bytes") || exists(final) {
		t.Fatalf("commit of other bytes than the staged copy's: %v, final there: %v", err, exists(final))
	}
	if already, err := st.Commit(ctx, name, data); err != nil || already {
		t.Fatalf("commit: %v, already %v", err, already)
	}
	if got, err := os.ReadFile(final); err != nil || !bytes.Equal(got, data) || exists(staged) {
		t.Fatalf("after the commit the file holds %q (%v), the staged copy there: %v", got, err, exists(staged))
	}
	for what, do := range map[string]func(context.Context, string, []byte) (bool, error){"commit": st.Commit, "stage": st.Stage} {
		if already, err := do(ctx, name, data); err != nil || !already || exists(staged) {
			t.Fatalf("%s of the same bytes again: %v, already %v, staged copy there: %v", what, err, already, exists(staged))
		}
	}
	if _, err := st.Stage(ctx, name, other); !errors.Is(err, pipeline.ErrClash) || exists(staged) {
		t.Fatalf("stage of other bytes onto the file: %v (want ErrClash), staged copy there: %v", err, exists(staged))
	}
	// A staged copy left beside the file by a commit cut off after its rename.
	if err := os.WriteFile(staged, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if already, err := st.Commit(ctx, name, data); err != nil || !already || exists(staged) {
		t.Fatalf("commit with a staged copy beside the file: %v, already %v, staged copy there: %v", err, already, exists(staged))
	}
	// The reader took the file away.
	if err := os.Remove(final); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Commit(ctx, name, data); !errors.Is(err, pipeline.ErrNotStaged) || !strings.Contains(err.Error(), name) {
		t.Fatalf("commit of a file taken away: %v; want ErrNotStaged naming the file", err)
	}
	if exists(final) || exists(staged) {
		t.Fatal("a commit with nothing staged wrote something")
	}
}
