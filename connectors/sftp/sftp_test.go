package sftp_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	pkgsftp "github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"zhutui/connectors/sftp"
	"zhutui/connectors/sftp/sftptest"
	"zhutui/pipeline"
	"zhutui/pipeline/locationtest"
)

// testServer is the built-in server of sftptest with a folder to serve.
type testServer struct {
	*sftp.Server
	dir        string // the served folder
	keyFile    string
	knownHosts string
}

func startServer(t *testing.T) *testServer {
	t.Helper()
	srv := sftptest.Builtin(t)
	ts := &testServer{Server: srv.Builtin, dir: filepath.Join(t.TempDir(), "served"), keyFile: srv.KeyFile, knownHosts: srv.KnownHosts}
	if err := os.MkdirAll(ts.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return ts
}

// dialSSH opens a plain SSH connection to addr as zhutui, with the private
// key in keyFile and the host keys in knownHosts, Go's default algorithms.
func dialSSH(t *testing.T, addr, keyFile, knownHosts string) (*ssh.Client, error) {
	t.Helper()
	callback, err := knownhosts.New(knownHosts)
	if err != nil {
		t.Fatal(err)
	}
	return ssh.Dial("tcp", addr, &ssh.ClientConfig{User: "zhutui", Auth: []ssh.AuthMethod{ssh.PublicKeys(mustSigner(t, keyFile))},
		HostKeyCallback: callback, Timeout: 5 * time.Second})
}

func (ts *testServer) location(t *testing.T, opts sftp.Options) *sftp.Location {
	t.Helper()
	if opts.KeyFile == "" {
		opts.KeyFile = ts.keyFile
	}
	if opts.KnownHosts == "" {
		opts.KnownHosts = ts.knownHosts
	}
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.Backoff == 0 {
		opts.Backoff = 10 * time.Millisecond
	}
	l, err := sftp.Parse("sftp://zhutui@"+ts.Addr+ts.dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestPutListOpen(t *testing.T) {
	ctx := context.Background()
	ts := startServer(t)
	l := ts.location(t, sftp.Options{})
	locationtest.PutListOpen(t, l, func(name string) []byte {
		b, _ := os.ReadFile(filepath.Join(ts.dir, name))
		return b
	})
	if _, err := os.Stat(filepath.Join(ts.dir, "ZTPAY_B1.txt")); err != nil {
		t.Error("a downloaded file was removed from the server")
	}
	locationtest.PlainNames(t, l, ts.dir)
	locationtest.FolderGone(t, l, ts.dir)
	locationtest.StageCommit(t, l, ts.dir)
	if _, err := l.Open(ctx, "missing.csv"); err == nil || !strings.Contains(err.Error(), "missing.csv") || !strings.Contains(err.Error(), ts.Addr) {
		t.Errorf("open of a missing file: %v (want host and path named)", err)
	}
}

func TestUploadCutInTheMiddle(t *testing.T) {
	ctx := context.Background()
	ts := startServer(t)
	l := ts.location(t, sftp.Options{Retries: 2})
	data := make([]byte, 256<<10)
	rand.Read(data)
	ts.CutAfter(64 << 10) // every connection drops a quarter of the way in
	_, err := l.Put(ctx, "ZTPAY_B2.txt", data)
	if err == nil || !strings.Contains(err.Error(), "gave up after 3 attempts") || !strings.Contains(err.Error(), "ZTPAY_B2.txt") {
		t.Fatalf("put through a failing network: %v", err)
	}
	if _, err := os.Stat(filepath.Join(ts.dir, "ZTPAY_B2.txt")); !os.IsNotExist(err) {
		t.Fatalf("a file is under the final name after a cut upload: %v", err)
	}
	ts.CutAfter(0)
	if already, err := l.Put(ctx, "ZTPAY_B2.txt", data); err != nil || already {
		t.Fatalf("put after the network recovers: %v, already %v", err, already)
	}
	if got, _ := os.ReadFile(filepath.Join(ts.dir, "ZTPAY_B2.txt")); !bytes.Equal(got, data) {
		t.Fatal("the delivered file is not whole")
	}
	if already, _ := l.Put(ctx, "ZTPAY_B2.txt", data); !already {
		t.Fatal("a repeat upload wrote again")
	}
}

// TestUploadCheckedBeforeRename: a copy the server keeps damaged, shorter or
// with a byte changed, is found before it is renamed into place (by its size,
// then by its SHA-256 read back) and removed: the upload fails when it may
// not retry, and is made again when it may. Nothing damaged is ever under
// the final name.
func TestUploadCheckedBeforeRename(t *testing.T) {
	ctx := context.Background()
	data := bytes.Repeat([]byte("0123456789"), 1000)
	copy(data[5000:], "FLIP-ME")
	for _, tc := range []struct {
		name, want string
		damage     func(ts *testServer, name string)
	}{
		// The temporary name leads to /dev/null: the copy reads back empty.
		{"Shorter", "the uploaded copy has 0 bytes, want 10000", func(ts *testServer, name string) {
			if err := os.Symlink("/dev/null", filepath.Join(ts.dir, "."+name+".part")); err != nil {
				t.Fatal(err)
			}
		}},
		{"ByteChanged", "the uploaded copy does not read back the same", func(ts *testServer, _ string) {
			ts.FlipOnce([]byte("FLIP-ME"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t)
			tc.damage(ts, "ZTPAY_B1.txt")
			if _, err := ts.location(t, sftp.Options{Retries: -1}).Put(ctx, "ZTPAY_B1.txt", data); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("put of a damaged copy: %v, want %q", err, tc.want)
			}
			entries, _ := os.ReadDir(ts.dir)
			if len(entries) != 0 {
				t.Fatalf("left in the folder: %v", entries)
			}
			tc.damage(ts, "ZTPAY_B2.txt")
			if _, err := ts.location(t, sftp.Options{Retries: 1}).Put(ctx, "ZTPAY_B2.txt", data); err != nil {
				t.Fatalf("put with a retry: %v", err)
			}
			if got, _ := os.ReadFile(filepath.Join(ts.dir, "ZTPAY_B2.txt")); !bytes.Equal(got, data) {
				t.Fatal("the delivered file is not the data")
			}
		})
	}
}

// TestHostKeyOfAnotherTypeFirst: a server offering two host keys, of which
// known_hosts holds only the one a client would not pick by default (here
// its Ed25519 key, beside an ECDSA one, which x/crypto's client prefers), is
// accepted by the key known_hosts holds (golang/go#28870). The same
// handshake without zhutui's choice of algorithms fails, so the test shows
// the case it is about.
func TestHostKeyOfAnotherTypeFirst(t *testing.T) {
	ctx := context.Background()
	ts := startServer(t) // for its client key and folder
	ed25519Key, _, err := sftp.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecdsaKey, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sftp.StartServerWithHostKey("zhutui", mustSigner(t, ts.keyFile).PublicKey(), ed25519Key, ecdsaKey)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	known := filepath.Join(t.TempDir(), "known_hosts") // the Ed25519 key only
	// As ssh writes it, and as ssh-keyscan -H and HashKnownHosts (Debian's
	// default) write it: the host name hashed.
	plainLine := knownhosts.Line([]string{knownhosts.Normalize(srv.Addr)}, ed25519Key.PublicKey())
	hashedLine := knownhosts.HashHostname(knownhosts.Normalize(srv.Addr)) + " " +
		strings.TrimSpace(string(ssh.MarshalAuthorizedKey(ed25519Key.PublicKey())))
	for _, line := range []string{hashedLine, plainLine} {
		if err := os.WriteFile(known, []byte(line+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		l, err := sftp.Parse("sftp://zhutui@"+srv.Addr+ts.dir, sftp.Options{KeyFile: ts.keyFile, KnownHosts: known, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Put(ctx, "ZTPAY_B1.txt", []byte("x")); err != nil {
			t.Fatalf("put to a server that offers its known key second (known_hosts %q): %v", line[:3], err)
		}
		l.Close()
	}
	plain, err := dialSSH(t, srv.Addr, ts.keyFile, known)
	if err == nil {
		plain.Close()
		t.Fatal("a client with the default algorithms took the known key too: the test does not show the case")
	}
}

// TestPasswordLogin: a location with a password and no key logs in to a
// server that takes the password; a wrong one is refused, naming the host.
func TestPasswordLogin(t *testing.T) {
	ctx := context.Background()
	ts := startServer(t)
	ts.AllowPassword("s3cret")
	for _, c := range []struct {
		password string
		ok       bool
	}{{"s3cret", true}, {"wrong", false}} {
		l, err := sftp.Parse("sftp://zhutui@"+ts.Addr+ts.dir, sftp.Options{Password: c.password, KnownHosts: ts.knownHosts,
			Timeout: 5 * time.Second, Backoff: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		_, err = l.Put(ctx, "ZTPAY_B1.txt", []byte("x"))
		l.Close()
		if c.ok && err != nil {
			t.Errorf("password %q: %v", c.password, err)
		}
		if !c.ok && (err == nil || !strings.Contains(err.Error(), "unable to authenticate") || !strings.Contains(err.Error(), ts.Addr)) {
			t.Errorf("password %q: %v; want refused, naming the host", c.password, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(ts.dir, "ZTPAY_B1.txt")); err != nil || string(b) != "x" {
		t.Errorf("the file put with the password: %q, %v", b, err)
	}
}

func TestHostKeyChecked(t *testing.T) {
	ctx := context.Background()
	ts := startServer(t)
	t.Run("ErrChangedHostKey", func(t *testing.T) {
		other, _, _ := sftp.GenerateKey()
		kh := filepath.Join(t.TempDir(), "known_hosts")
		impostor, err := sftp.StartServerWithHostKey("zhutui", mustSigner(t, ts.keyFile).PublicKey(), other)
		if err != nil {
			t.Fatal(err)
		}
		defer impostor.Close()
		// known_hosts holds the real server's key under the impostor's address.
		line := knownhosts.Line([]string{knownhosts.Normalize(impostor.Addr)}, ts.HostKey()) + "\n"
		os.WriteFile(kh, []byte(line), 0o600)
		l, _ := sftp.Parse("sftp://zhutui@"+impostor.Addr+ts.dir, sftp.Options{KeyFile: ts.keyFile, KnownHosts: kh, Timeout: 5 * time.Second})
		defer l.Close()
		_, err = l.List(ctx)
		var hke *sftp.HostKeyError
		if !errors.As(err, &hke) || !hke.Changed || !strings.Contains(err.Error(), "NOT the one") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrUnknownHost", func(t *testing.T) {
		kh := filepath.Join(t.TempDir(), "known_hosts")
		os.WriteFile(kh, nil, 0o600)
		l := ts.location(t, sftp.Options{KnownHosts: kh})
		_, err := l.List(ctx)
		var hke *sftp.HostKeyError
		if !errors.As(err, &hke) || hke.Changed || !strings.Contains(err.Error(), "not in") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrNoKnownHosts", func(t *testing.T) {
		if _, err := sftp.Parse("sftp://zhutui@"+ts.Addr+"/x", sftp.Options{KeyFile: ts.keyFile}); err == nil {
			t.Fatal("a location without known_hosts was accepted")
		}
	})
	t.Run("ErrMissingFiles", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "missing")
		for _, c := range []struct {
			key  string
			opts sftp.Options
		}{
			{"key_file", sftp.Options{KeyFile: missing, KnownHosts: ts.knownHosts}},
			{"known_hosts", sftp.Options{KeyFile: ts.keyFile, KnownHosts: missing}},
			{"known_hosts", sftp.Options{Password: "s3cret", KnownHosts: missing}}, // no key file to check first
		} {
			if _, err := sftp.Parse("sftp://zhutui@"+ts.Addr+"/x", c.opts); err == nil || !strings.Contains(err.Error(), "[ssh] "+c.key) ||
				!strings.Contains(err.Error(), "no such file") {
				t.Errorf("%s missing (key file %q): %v", c.key, c.opts.KeyFile, err)
			}
		}
	})
	t.Run("ErrKeyReadableByOthers", func(t *testing.T) {
		open := filepath.Join(t.TempDir(), "id")
		if err := os.WriteFile(open, []byte("key"), 0o640); err != nil {
			t.Fatal(err)
		}
		_, err := sftp.Parse("sftp://zhutui@"+ts.Addr+"/x", sftp.Options{KeyFile: open, KnownHosts: ts.knownHosts})
		if err == nil || !strings.Contains(err.Error(), "[ssh] key_file "+open+" is readable by others (mode -rw-r-----): chmod 600 it") {
			t.Errorf("a key file others may read: %v", err)
		}
	})
	t.Run("ErrPasswordInURL", func(t *testing.T) {
		// Refused, and not repeated: the message goes to stderr and the
		// daemon's log.
		_, err := sftp.Parse("sftp://zhutui:s3cret@"+ts.Addr+"/x", sftp.Options{KeyFile: ts.keyFile, KnownHosts: ts.knownHosts})
		if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), `"sftp://zhutui:xxxxx@`+ts.Addr+`/x"`) {
			t.Fatalf("a password in the URL: %v", err)
		}
		// Nor in a URL that does not parse (a space in it), nor in another scheme's.
		for _, raw := range []string{"sftp://zhutui:s3 cret@" + ts.Addr + "/x", "ftp://zhutui:s3cret@" + ts.Addr + "/x"} {
			_, err := sftp.Parse(raw, sftp.Options{KeyFile: ts.keyFile, KnownHosts: ts.knownHosts})
			if err == nil || strings.Contains(err.Error(), "s3") || !strings.Contains(err.Error(), "xxxxx@"+ts.Addr) {
				t.Errorf("%s: %v", raw, err)
			}
		}
	})
}

// mustSigner reads the private key in keyFile.
func mustSigner(t *testing.T, keyFile string) ssh.Signer {
	t.Helper()
	b, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.ParsePrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestStamp: a remote file older than FreshFor is known by its size and
// mtime; either changing gives another stamp; a fresh file gets none.
func TestStamp(t *testing.T) {
	ctx := context.Background()
	ts := startServer(t)
	l := ts.location(t, sftp.Options{})
	p := filepath.Join(ts.dir, "feed-20140201.csv")
	if err := os.WriteFile(p, []byte("certificate_no\nC1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if fresh, err := l.Stamp(ctx, "feed-20140201.csv"); err != nil || fresh != "" {
		t.Fatalf("a file written just now has stamp %q, %v; want none", fresh, err)
	}
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	first, err := l.Stamp(ctx, "feed-20140201.csv")
	if want := fmt.Sprintf("sftp:18:%d", old.Unix()); err != nil || first != want {
		t.Fatalf("stamp = %q, %v; want %q", first, err, want)
	}
	if again, _ := l.Stamp(ctx, "feed-20140201.csv"); again != first {
		t.Fatalf("the stamp of an unchanged file moved: %q then %q", first, again)
	}
	if err := os.Chtimes(p, old, old.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if later, _ := l.Stamp(ctx, "feed-20140201.csv"); later == first || later == "" {
		t.Fatalf("mtime one second on: stamp %q (was %q)", later, first)
	}
	if err := os.WriteFile(p, []byte("certificate_no\nC12\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	if longer, _ := l.Stamp(ctx, "feed-20140201.csv"); longer == first || longer == "" {
		t.Fatalf("one byte longer, same mtime: stamp %q (was %q)", longer, first)
	}
	ahead := time.Now().Add(time.Hour) // a server clock ahead of ours
	if err := os.Chtimes(p, ahead, ahead); err != nil {
		t.Fatal(err)
	}
	if s, _ := l.Stamp(ctx, "feed-20140201.csv"); s != "" {
		t.Fatalf("a file with an mtime ahead of now has stamp %q; want none", s)
	}
	if err := os.Chtimes(p, time.Unix(0, 0), time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	if s, _ := l.Stamp(ctx, "feed-20140201.csv"); s != "" {
		t.Fatalf("a file without an mtime (0, as when the server sends none) has stamp %q; want none", s)
	}
	// The deliver stage tells a file gone from one it cannot see by this.
	if _, err := l.Stamp(ctx, "missing.csv"); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "missing.csv") {
		t.Errorf("stamp of a missing file: %v", err)
	}
	if _, err := l.Stamp(ctx, "../x"); err == nil || !strings.Contains(err.Error(), "not a plain file name") {
		t.Errorf("stamp of a path: %v", err)
	}
}

// hangUpLocation is a location at the address sftptest.HangUp listens on, with the
// attempts and first wait given (and the built-in server's keys, which it
// never gets to use).
func hangUpLocation(t *testing.T, addr string, retries int, backoff time.Duration) *sftp.Location {
	t.Helper()
	ts := startServer(t)
	l, err := sftp.Parse("sftp://zhutui@"+addr+"/in", sftp.Options{KeyFile: ts.keyFile, KnownHosts: ts.knownHosts,
		Timeout: 5 * time.Second, Retries: retries, Backoff: backoff})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestServerHangsUp: a server that hangs up before the handshake is a
// transient failure: the upload is tried again, each time on a new
// connection, and gives up after the attempts allowed, saying so.
func TestServerHangsUp(t *testing.T) {
	addr, conns := sftptest.HangUp(t)
	l := hangUpLocation(t, addr, 2, time.Millisecond)
	defer l.Close()
	_, err := l.Put(context.Background(), "ZTPAY_B1.txt", []byte("x"))
	if err == nil || !strings.Contains(err.Error(), "gave up after 3 attempts") || conns.Load() != 3 {
		t.Fatalf("put to a server that hangs up: %v, after %d connections; want 3 attempts", err, conns.Load())
	}
}

// TestRetryStopsWhenCancelled: a night stopped while a location waits to try
// again stops waiting: the wait is not slept out (here an hour).
func TestRetryStopsWhenCancelled(t *testing.T) {
	addr, conns := sftptest.HangUp(t)
	l := hangUpLocation(t, addr, 3, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := l.Put(ctx, "ZTPAY_B1.txt", []byte("x"))
		done <- err
	}()
	for conns.Load() == 0 { // the first attempt is made, and fails
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		l.Close() // here, not deferred: after the guard below Put still holds the location, and Close would wait an hour
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("put stopped with %v, want the cancellation", err)
		}
	case <-time.After(10 * time.Second): // a guard against the hour's wait, not a timing
		t.Fatal("put went on waiting to try again after the night was stopped")
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections, want the first attempt's alone", n)
	}
}

// TestShortDownload: a file that comes down shorter than the size the
// server gave for it (a sender still rewriting it, a faulty server) is not
// taken: the download is tried again and then fails, naming both sizes, and
// leaves no staging file behind. The same server giving the size it sends
// is read whole, so the handlers are not what fails.
func TestShortDownload(t *testing.T) {
	ts := startServer(t)
	staging := t.TempDir()
	t.Setenv("TMPDIR", staging)
	data := []byte("no,name\n1,Li Lei\n")
	for _, tc := range []struct {
		says    int64
		wantErr string
	}{
		{int64(len(data)), ""},
		{int64(len(data)) + 5, fmt.Sprintf("gave up after 2 attempts: downloaded %d bytes, the server says %d", len(data), len(data)+5)},
	} {
		ts.ServeHandlers(shortFile{data: data, says: tc.says}.handlers())
		l := ts.location(t, sftp.Options{Retries: 1})
		f, err := l.Open(context.Background(), "night1.csv")
		if tc.wantErr == "" {
			if err != nil {
				t.Fatalf("the size it sends: %v", err)
			}
			got, _ := io.ReadAll(f)
			f.Close()
			if !bytes.Equal(got, data) {
				t.Fatalf("read %q, want %q", got, data)
			}
			continue
		}
		if err == nil {
			f.Close()
			t.Fatalf("a download %d bytes short was taken", tc.says-int64(len(data)))
		}
		if !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "night1.csv") {
			t.Errorf("short download: %v\nwant it to name the file and say %q", err, tc.wantErr)
		}
	}
	if left, _ := os.ReadDir(staging); len(left) != 0 {
		t.Errorf("staging files left behind: %v", left)
	}
}

// shortFile serves one file whose stat gives says bytes and whose reads give
// data; it refuses every change.
type shortFile struct {
	data []byte
	says int64
}

func (f shortFile) handlers() pkgsftp.Handlers {
	return pkgsftp.Handlers{FileGet: f, FilePut: f, FileCmd: f, FileList: f}
}

func (f shortFile) Fileread(*pkgsftp.Request) (io.ReaderAt, error) {
	return bytes.NewReader(f.data), nil
}
func (f shortFile) Filewrite(*pkgsftp.Request) (io.WriterAt, error) { return nil, os.ErrPermission }
func (f shortFile) Filecmd(*pkgsftp.Request) error                  { return os.ErrPermission }

func (f shortFile) Filelist(r *pkgsftp.Request) (pkgsftp.ListerAt, error) {
	if r.Method != "Stat" {
		return nil, os.ErrPermission
	}
	name := path.Base(r.Filepath)
	fi, err := fs.Stat(fstest.MapFS{name: {Data: f.data, Mode: 0o644}}, name)
	if err != nil {
		return nil, err
	}
	return listerAt{sizedInfo{fi, f.says}}, nil
}

type listerAt []os.FileInfo

func (l listerAt) ListAt(ls []os.FileInfo, offset int64) (int, error) {
	if offset >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(ls, l[offset:])
	if offset+int64(n) >= int64(len(l)) {
		return n, io.EOF
	}
	return n, nil
}

// sizedInfo is a file's stat with another size.
type sizedInfo struct {
	fs.FileInfo
	size int64
}

func (fi sizedInfo) Size() int64 { return fi.size }

// TestTransient: which failures are tried again on a new connection. Some
// network failures can reach the client as text alone (an error that wraps
// its cause with %v loses the cause's type); those are known by their words.
func TestTransient(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{errors.New("read tcp 127.0.0.1:50022->127.0.0.1:22: read: connection reset by peer"), true},
		{errors.New("write tcp 127.0.0.1:50022->127.0.0.1:22: write: broken pipe"), true},
		{errors.New("dial tcp 127.0.0.1:22: connect: connection refused"), true},
		{errors.New("read tcp 127.0.0.1:50022: use of closed network connection"), true},
		{fmt.Errorf("download: %w", io.ErrUnexpectedEOF), true},
		{fmt.Errorf("list: %w", pkgsftp.ErrSSHFxConnectionLost), true},
		{fmt.Errorf("open: %w", os.ErrNotExist), false},
		{fmt.Errorf("put: %w", os.ErrPermission), false},
		{&pkgsftp.StatusError{Code: 4}, false}, // SSH_FX_FAILURE: the server answered
		{errors.New("ssh: handshake failed: ssh: unable to authenticate"), false},
		{errors.New("sftp: the upload's bytes differ"), false},
		{fmt.Errorf("put ZTPAY_B1.txt: %w", pipeline.ErrClash), false},
		{&sftp.HostKeyError{Host: "bank:22", Err: errors.New("knownhosts: key mismatch")}, false},
	} {
		if got := sftp.Transient(tc.err); got != tc.want {
			t.Errorf("transient(%q) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// TestServerRefusesWhatItDoesNotServe: the built-in server (the demo's bank)
// refuses a channel other than a session and a request other than the sftp
// subsystem, and goes on serving the same connection and channel after.
func TestServerRefusesWhatItDoesNotServe(t *testing.T) {
	ts := startServer(t)
	conn, err := dialSSH(t, ts.Addr, ts.keyFile, ts.knownHosts)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var refused *ssh.OpenChannelError
	if _, _, err := conn.OpenChannel("direct-tcpip", nil); !errors.As(err, &refused) || refused.Reason != ssh.UnknownChannelType {
		t.Fatalf("a channel other than a session: %v", err)
	}
	ch, reqs, err := conn.OpenChannel("session", nil)
	if err != nil {
		t.Fatalf("a session after the refused channel: %v", err)
	}
	go ssh.DiscardRequests(reqs)
	if ok, err := ch.SendRequest("exec", true, ssh.Marshal(struct{ Command string }{"ls"})); err != nil || ok {
		t.Fatalf("exec: %v, %v; want refused", ok, err)
	}
	// A server that stopped reading the channel's requests would never
	// answer: wait ten seconds, not the test's whole timeout.
	answer := make(chan error, 1)
	go func() {
		ok, err := ch.SendRequest("subsystem", true, ssh.Marshal(struct{ Name string }{"sftp"}))
		if err == nil && !ok {
			err = errors.New("refused")
		}
		answer <- err
	}()
	select {
	case err := <-answer:
		if err != nil {
			t.Fatalf("the sftp subsystem after a refused request: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the sftp subsystem after a refused request: no answer in 10 s")
	}
	c, err := pkgsftp.NewClientPipe(ch, ch)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.ReadDir(ts.dir); err != nil {
		t.Fatalf("serving sftp on that channel: %v", err)
	}
}
