// Package sftp is the sftp://user@host:port/abs/dir location, over
// github.com/pkg/sftp and golang.org/x/crypto/ssh. The server's host key is
// always checked against a known_hosts file; login is by private key (and a
// password from the environment, if given). Every operation has a deadline,
// transient network errors are retried with backoff on a new connection, and
// uploads are atomic: a temporary name, checked, then renamed into place.
package sftp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	pkgsftp "github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"zhutui/pipeline"
	"zhutui/pipeline/crashpoint"
)

// Options are the connection settings shared by every SFTP location.
type Options struct {
	KeyFile    string        // private key to log in with
	KnownHosts string        // known_hosts file the server's host key must be in
	Password   string        // optional, from $ZHUTUI_SFTP_PASSWORD; never from a file
	Timeout    time.Duration // dial and per-operation deadline (default 30 s)
	Retries    int           // attempts after the first on a transient error (default 3)
	Backoff    time.Duration // first wait between attempts, doubling (default 500 ms)
}

// Location is a folder on an SFTP server. It keeps one connection, made on
// first use and made again after a transient failure; it is safe for
// concurrent use, operations being serialised.
type Location struct {
	User string
	Host string // host:port
	Dir  string // absolute
	opts Options

	mu     sync.Mutex
	conn   net.Conn
	ssh    *ssh.Client
	client *pkgsftp.Client
}

var _ pipeline.Location = (*Location)(nil)

// Parse reads an sftp://user@host:port/abs/dir URL. A password in the URL is
// refused: it belongs in the environment.
func Parse(raw string, opts Options) (*Location, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "sftp" {
		return nil, fmt.Errorf("location %q: want sftp://user@host:port/abs/dir", Redact(raw))
	}
	if _, hasPass := u.User.Password(); hasPass {
		return nil, fmt.Errorf("location %q: no password in a location; use $ZHUTUI_SFTP_PASSWORD", Redact(raw))
	}
	if u.User.Username() == "" || u.Hostname() == "" || !path.IsAbs(u.Path) {
		return nil, fmt.Errorf("location %q: want sftp://user@host:port/abs/dir", raw)
	}
	port := u.Port()
	if port == "" {
		port = "22"
	}
	if opts.KeyFile == "" && opts.Password == "" {
		return nil, fmt.Errorf("location %q: no [ssh] key_file to log in with", raw)
	}
	if opts.KnownHosts == "" {
		return nil, fmt.Errorf("location %q: no [ssh] known_hosts: a server's host key is always checked", raw)
	}
	// Files that are not there are a configuration error now, not a stage
	// that fails in the middle of a run.
	for _, f := range []struct{ key, path string }{{"key_file", opts.KeyFile}, {"known_hosts", opts.KnownHosts}} {
		if f.path == "" {
			continue
		}
		fi, err := os.Stat(f.path)
		if err != nil {
			return nil, fmt.Errorf("location %q: [ssh] %s: %w", raw, f.key, err)
		}
		// The key logs in to the bank's server, where a payment file is an
		// order to pay: refused, as ssh refuses it, when others may read it.
		if f.key == "key_file" && fi.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("location %q: [ssh] key_file %s is readable by others (mode %v): chmod 600 it",
				raw, f.path, fi.Mode().Perm())
		}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.Retries < 0 {
		opts.Retries = 0
	} else if opts.Retries == 0 {
		opts.Retries = 3
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 500 * time.Millisecond
	}
	return &Location{User: u.User.Username(), Host: net.JoinHostPort(u.Hostname(), port), Dir: path.Clean(u.Path), opts: opts}, nil
}

// String returns the location's URL, without credentials.
func (l *Location) String() string {
	return (&url.URL{Scheme: "sftp", User: url.User(l.User), Host: l.Host, Path: l.Dir}).String()
}

// Close closes the connection, if any.
func (l *Location) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reset()
	return nil
}

func (l *Location) reset() {
	if l.client != nil {
		l.client.Close()
	}
	if l.ssh != nil {
		l.ssh.Close()
	}
	if l.conn != nil {
		l.conn.Close()
	}
	l.client, l.ssh, l.conn = nil, nil, nil
}

// HostKeyError means the server's host key is not the one known_hosts holds
// for it (or it holds none): the connection is refused.
type HostKeyError struct {
	Host, KnownHosts string
	Changed          bool
	Err              error
}

func (e *HostKeyError) Error() string {
	if e.Changed {
		return fmt.Sprintf("sftp %s: the server's host key is NOT the one %s holds for it: refusing to connect (a changed server, or someone in between); if the change is expected, update %s", e.Host, e.KnownHosts, e.KnownHosts)
	}
	return fmt.Sprintf("sftp %s: the server's host key is not in %s: refusing to connect; add it after checking its fingerprint with the server's owner", e.Host, e.KnownHosts)
}

func (e *HostKeyError) Unwrap() error { return e.Err }

// connect dials and logs in, when not connected.
func (l *Location) connect() error {
	if l.client != nil {
		return nil
	}
	callback, err := knownhosts.New(l.opts.KnownHosts)
	if err != nil {
		return fmt.Errorf("sftp %s: known_hosts: %w", l.Host, err)
	}
	var auth []ssh.AuthMethod
	if l.opts.KeyFile != "" {
		pem, err := os.ReadFile(l.opts.KeyFile)
		if err != nil {
			return fmt.Errorf("sftp %s: key file: %w", l.Host, err)
		}
		signer, err := ssh.ParsePrivateKey(pem)
		if err != nil {
			return fmt.Errorf("sftp %s: key file %s: %w", l.Host, l.opts.KeyFile, err)
		}
		auth = append(auth, ssh.PublicKeys(signer))
	}
	if l.opts.Password != "" {
		auth = append(auth, ssh.Password(l.opts.Password))
	}
	cfg := &ssh.ClientConfig{
		User: l.User,
		Auth: auth,
		HostKeyCallback: func(hostname string, remote net.Addr, key ssh.PublicKey) error {
			err := callback(hostname, remote, key)
			var ke *knownhosts.KeyError
			if errors.As(err, &ke) {
				return &HostKeyError{Host: l.Host, KnownHosts: l.opts.KnownHosts, Changed: len(ke.Want) > 0, Err: err}
			}
			return err
		},
		HostKeyAlgorithms: hostKeyAlgorithms(callback, l.Host),
		Timeout:           l.opts.Timeout,
	}
	conn, err := net.DialTimeout("tcp", l.Host, l.opts.Timeout)
	if err != nil {
		return fmt.Errorf("sftp %s: %w", l.Host, err)
	}
	conn.SetDeadline(time.Now().Add(l.opts.Timeout))
	c, chans, reqs, err := ssh.NewClientConn(conn, l.Host, cfg)
	if err != nil {
		conn.Close()
		var hke *HostKeyError
		if errors.As(err, &hke) {
			return hke
		}
		return fmt.Errorf("sftp %s: ssh: %w", l.Host, err)
	}
	l.conn, l.ssh = conn, ssh.NewClient(c, chans, reqs)
	if l.client, err = pkgsftp.NewClient(l.ssh); err != nil {
		l.reset()
		return fmt.Errorf("sftp %s: %w", l.Host, err)
	}
	conn.SetDeadline(time.Time{})
	return nil
}

// hostKeyAlgorithms lists the algorithms of the keys known_hosts holds for a
// host, so that a server offering another key type first is not taken for an
// unknown one (golang/go#28870). It asks the callback about a key of no known
// type: the error lists the keys it wanted.
func hostKeyAlgorithms(callback ssh.HostKeyCallback, host string) []string {
	err := callback(knownhosts.Normalize(host), &net.TCPAddr{IP: net.IPv4zero}, probeKey{})
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) {
		return nil
	}
	var algos []string
	for _, k := range ke.Want {
		switch t := k.Key.Type(); t {
		case ssh.KeyAlgoRSA:
			algos = append(algos, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA)
		default:
			algos = append(algos, t)
		}
	}
	return algos
}

// Redact returns a location URL fit for a message or a log: a password in it
// (which Parse refuses) shown as xxxxx, and, in a URL that does not parse,
// whatever stands between "://" and the last "@".
func Redact(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	i, j := strings.Index(raw, "://"), strings.LastIndex(raw, "@")
	if i >= 0 && j > i+3 {
		return raw[:i+3] + "xxxxx" + raw[j:]
	}
	return raw
}

// probeKey is a public key of no real type, for hostKeyAlgorithms.
type probeKey struct{}

func (probeKey) Type() string                        { return "zhutui-probe" }
func (probeKey) Marshal() []byte                     { return []byte("zhutui-probe") }
func (probeKey) Verify([]byte, *ssh.Signature) error { return errors.New("probe") }

// do runs op with a connection, under a deadline, retrying transient failures
// on a new connection with doubling waits. The error names host and path.
func (l *Location) do(ctx context.Context, what, name string, op func(c *pkgsftp.Client) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	wait := l.opts.Backoff
	var err error
	for attempt := 0; attempt <= l.opts.Retries; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
			wait *= 2
		}
		if err = l.connect(); err == nil {
			l.conn.SetDeadline(time.Now().Add(l.opts.Timeout))
			err = op(l.client)
			if l.conn != nil {
				l.conn.SetDeadline(time.Time{})
			}
		}
		if err == nil || !transient(err) {
			break
		}
		l.reset()
	}
	if err != nil {
		var hke *HostKeyError
		if errors.As(err, &hke) {
			return err
		}
		target := l.String()
		if name != "" {
			target += "/" + name
		}
		if transient(err) {
			if l.opts.Retries == 0 {
				return fmt.Errorf("%s %s: gave up after 1 attempt (no retry configured): %w", what, target, err)
			}
			return fmt.Errorf("%s %s: gave up after %d attempts: %w", what, target, l.opts.Retries+1, err)
		}
		return fmt.Errorf("%s %s: %w", what, target, err)
	}
	return nil
}

// transient reports whether an error is a network failure worth retrying on
// a new connection.
func transient(err error) bool {
	var hke *HostKeyError
	var ne net.Error
	switch {
	case errors.As(err, &hke), errors.Is(err, pipeline.ErrClash), errors.Is(err, os.ErrNotExist), errors.Is(err, os.ErrPermission):
		return false
	case errors.Is(err, pkgsftp.ErrSSHFxConnectionLost), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed), errors.As(err, &ne):
		return true
	}
	var se *pkgsftp.StatusError
	if errors.As(err, &se) {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "connection reset") || strings.Contains(msg, "broken pipe") ||
		strings.Contains(msg, "connection refused") || strings.Contains(msg, "use of closed")
}

// List returns the names of the regular files in the folder, sorted.
func (l *Location) List(ctx context.Context) ([]string, error) {
	var names []string
	err := l.do(ctx, "list", "", func(c *pkgsftp.Client) error {
		names = names[:0]
		infos, err := c.ReadDir(l.Dir)
		if err != nil {
			return err
		}
		for _, fi := range infos {
			if fi.Mode().IsRegular() {
				names = append(names, fi.Name())
			}
		}
		return nil
	})
	sort.Strings(names)
	return names, err
}

// Open downloads a file to a local staging file, checked against the remote
// size, and returns it; Close removes the staging file. Remote files are
// never deleted.
func (l *Location) Open(ctx context.Context, name string) (io.ReadSeekCloser, error) {
	if name != path.Base(name) {
		return nil, fmt.Errorf("open %q in %s: not a plain file name", name, l)
	}
	var staged *os.File
	err := l.do(ctx, "download", name, func(c *pkgsftp.Client) error {
		if staged != nil {
			staged.Close()
			os.Remove(staged.Name())
		}
		var err error
		if staged, err = os.CreateTemp("", "zhutui-in-*"); err != nil {
			return err
		}
		f, err := c.Open(path.Join(l.Dir, name))
		if err != nil {
			return err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		n, err := io.Copy(staged, f)
		if err != nil {
			return err
		}
		if n != fi.Size() {
			return fmt.Errorf("downloaded %d bytes, the server says %d: %w", n, fi.Size(), io.ErrUnexpectedEOF)
		}
		_, err = staged.Seek(0, io.SeekStart)
		return err
	})
	if err != nil {
		if staged != nil {
			staged.Close()
			os.Remove(staged.Name())
		}
		return nil, err
	}
	return &stagedFile{staged}, nil
}

var _ pipeline.Stamper = (*Location)(nil)

// FreshFor is how long after its mtime a remote file gets no stamp (see
// Stamp): SFTP gives mtimes in whole seconds and by the server's clock, so
// this is well beyond a second plus the difference between two clocks kept
// by NTP.
var FreshFor = 5 * time.Minute

// Stamp returns a remote file's size and mtime, or "" while the mtime is
// within FreshFor of now (or ahead of it, or not given). SFTP gives no ctime
// and no inode, so this stamp is weaker than a local file's: a file rewritten
// with the same size and its mtime set back to the same second (as "put -p"
// or "rsync -t" of a source with that mtime would) keeps its stamp and is not
// read again. Such a file would only have been quarantined (same name, other
// content), so no money can move on it either way; what is lost is the
// alert. Without the stamp every file ever left in a remote inbox is
// downloaded again every night.
func (l *Location) Stamp(ctx context.Context, name string) (string, error) {
	if name != path.Base(name) {
		return "", fmt.Errorf("stat %q in %s: not a plain file name", name, l)
	}
	var fi os.FileInfo
	err := l.do(ctx, "stat", name, func(c *pkgsftp.Client) error {
		var err error
		fi, err = c.Stat(path.Join(l.Dir, name))
		return err
	})
	if err != nil {
		return "", err
	}
	// A server that sends no mtime leaves it 0: such a file gets no stamp.
	if !fi.Mode().IsRegular() || fi.ModTime().Unix() <= 0 || time.Since(fi.ModTime()) < FreshFor {
		return "", nil
	}
	return fmt.Sprintf("sftp:%d:%d", fi.Size(), fi.ModTime().Unix()), nil
}

var _ pipeline.FolderChecker = (*Location)(nil)

// CheckFolder stats the folder itself: nil when it is there, an error
// wrapping fs.ErrNotExist when the server says it is not.
func (l *Location) CheckFolder(ctx context.Context) error {
	return l.do(ctx, "stat", "", func(c *pkgsftp.Client) error {
		fi, err := c.Stat(l.Dir)
		if err == nil && !fi.IsDir() {
			err = errors.New("not a folder")
		}
		return err
	})
}

// stagedFile is a downloaded copy, removed when closed.
type stagedFile struct{ *os.File }

func (f *stagedFile) Close() error {
	err := f.File.Close()
	os.Remove(f.File.Name())
	return err
}

// Put uploads a file atomically: Stage, then Commit. When the final name
// already holds the same bytes it does nothing (already); other bytes there
// fail with pipeline.ErrClash and nothing is overwritten. A staged copy left
// by a commit that failed is replaced by the next Put or Stage.
func (l *Location) Put(ctx context.Context, name string, data []byte) (bool, error) {
	if already, err := l.Stage(ctx, name, data); err != nil || already {
		return already, err
	}
	return l.Commit(ctx, name, data)
}

// Stage uploads data to name's staged copy, .<name>.part in the folder
// (opened write-only and truncated, synced when the server offers fsync),
// and checks it by size and read back by SHA-256. When the final name
// already holds the same bytes it uploads nothing and reports already; other
// bytes there fail with pipeline.ErrClash.
func (l *Location) Stage(ctx context.Context, name string, data []byte) (bool, error) {
	return l.unlessInPlace(ctx, name, data, func(c *pkgsftp.Client, _, tmp string, want [32]byte) (bool, error) {
		f, err := c.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
		if err != nil {
			return false, err
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			return false, err
		}
		if _, ok := c.HasExtension("fsync@openssh.com"); ok {
			if err := f.Sync(); err != nil {
				f.Close()
				return false, err
			}
		}
		if err := f.Close(); err != nil {
			return false, err
		}
		fi, err := c.Stat(tmp)
		if err != nil {
			return false, err
		}
		if fi.Size() != int64(len(data)) {
			c.Remove(tmp)
			return false, fmt.Errorf("the uploaded copy has %d bytes, want %d: %w", fi.Size(), len(data), io.ErrUnexpectedEOF)
		}
		if same, err := sameRemote(c, tmp, want); err != nil || !same {
			c.Remove(tmp)
			if err == nil {
				err = fmt.Errorf("the uploaded copy does not read back the same: %w", io.ErrUnexpectedEOF)
			}
			return false, err
		}
		return false, nil
	})
}

// Commit renames name's staged copy into place; a server that follows the
// SFTP protocol (OpenSSH's does) refuses to rename onto a name that exists.
// The same bytes already under the final name are reported as already there
// (and a staged copy left beside them removed); other bytes fail with
// pipeline.ErrClash. With neither the final name nor a staged copy there it
// fails with pipeline.ErrNotStaged; a staged copy holding other bytes is an
// error.
func (l *Location) Commit(ctx context.Context, name string, data []byte) (bool, error) {
	return l.unlessInPlace(ctx, name, data, func(c *pkgsftp.Client, final, tmp string, want [32]byte) (bool, error) {
		switch same, err := sameRemote(c, tmp, want); {
		case errors.Is(err, os.ErrNotExist):
			return false, pipeline.ErrNotStaged
		case err != nil:
			return false, err
		case !same:
			return false, fmt.Errorf("its staged copy %s holds other bytes", path.Base(tmp))
		}
		crashpoint.Here("upload:before-rename")
		if err := c.Rename(tmp, final); err != nil {
			// Someone put the final name meanwhile (OpenSSH refuses to
			// rename onto it): compare with what is there.
			if same, serr := sameRemote(c, final, want); serr == nil {
				c.Remove(tmp)
				if !same {
					return false, pipeline.ErrClash
				}
				return true, nil
			}
			return false, err
		}
		return false, nil
	})
}

// unlessInPlace is Stage's and Commit's common part: on a connection (each
// try), it checks name's final name first, which holding data is already
// there (a staged copy beside it removed) and holding other bytes a clash,
// and runs step only when nothing is there. Checking first also finds a
// rename that an earlier try did but whose answer was lost.
func (l *Location) unlessInPlace(ctx context.Context, name string, data []byte,
	step func(c *pkgsftp.Client, final, tmp string, want [32]byte) (already bool, err error)) (bool, error) {
	if err := pipeline.CheckPutName(name); err != nil {
		return false, fmt.Errorf("put %q in %s: %w", name, l, err)
	}
	final, tmp := path.Join(l.Dir, name), l.staged(name)
	want := sha256.Sum256(data)
	already := false
	err := l.do(ctx, "upload", name, func(c *pkgsftp.Client) error {
		if same, err := sameRemote(c, final, want); err == nil {
			if !same {
				return pipeline.ErrClash
			}
			c.Remove(tmp)
			already = true
			return nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		var err error
		already, err = step(c, final, tmp, want)
		return err
	})
	return already, err
}

func (l *Location) staged(name string) string { return path.Join(l.Dir, "."+name+".part") }

// sameRemote reports whether a remote file holds bytes with the given SHA-256.
func sameRemote(c *pkgsftp.Client, p string, want [32]byte) (bool, error) {
	f, err := c.Open(p)
	if err != nil {
		return false, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false, err
	}
	return bytes.Equal(h.Sum(nil), want[:]), nil
}
