package sftp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"zhutui/connectors/sftp"
	"zhutui/connectors/sftp/sftptest"
	"zhutui/pipeline"
	"zhutui/pipeline/locationtest"
)

// TestOpenSSH runs the location against a real OpenSSH sshd: upload with its
// no-clobber rename, repeat upload, clash, list, download, stamp and the
// folder's own check.
func TestOpenSSH(t *testing.T) {
	ctx := context.Background()
	srv := sftptest.SSHD(t)
	dir := t.TempDir()
	l, err := sftp.Parse(srv.URL(dir), sftp.Options{KeyFile: srv.KeyFile, KnownHosts: srv.KnownHosts, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	data := bytes.Repeat([]byte("D|000001|R1-1|6210670000000000016|王芳|2000.00|职业发展助推计划资助\r\n"), 5000)
	if already, err := l.Put(ctx, "ZTPAY_B1.txt", data); err != nil || already {
		t.Fatalf("put: %v, already %v", err, already)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "ZTPAY_B1.txt")); !bytes.Equal(got, data) {
		t.Fatal("the file on the server is not what was sent")
	}
	if already, err := l.Put(ctx, "ZTPAY_B1.txt", data); err != nil || !already {
		t.Fatalf("repeat put: %v, already %v", err, already)
	}
	if _, err := l.Put(ctx, "ZTPAY_B1.txt", data[:10]); !errors.Is(err, pipeline.ErrClash) {
		t.Fatalf("clash: %v", err)
	}
	names, err := l.List(ctx)
	if err != nil || len(names) != 1 {
		t.Fatalf("list = %v, %v", names, err)
	}
	// sshd lists a folder in the order the file system keeps it; List sorts.
	var want []string
	for i := 19; i >= 0; i-- {
		name := fmt.Sprintf("feed-%02d.csv", i)
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		want = append(want, name)
	}
	want = append(want, "ZTPAY_B1.txt")
	slices.Sort(want) // by bytes: ZTPAY_B1.txt, feed-00.csv … feed-19.csv
	if names, err := l.List(ctx); err != nil || !slices.Equal(names, want) {
		t.Fatalf("list = %v, %v; want %v", names, err, want)
	}
	f, err := l.Open(ctx, "ZTPAY_B1.txt")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(f)
	f.Close()
	if !bytes.Equal(got, data) {
		t.Fatal("download differs")
	}
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(filepath.Join(dir, "ZTPAY_B1.txt"), old, old); err != nil {
		t.Fatal(err)
	}
	if s, err := l.Stamp(ctx, "ZTPAY_B1.txt"); err != nil || s != fmt.Sprintf("sftp:%d:%d", len(data), old.Unix()) {
		t.Fatalf("stamp = %q, %v", s, err)
	}
	locationtest.FolderGone(t, l, dir)
	locationtest.StageCommit(t, l, dir)
}
