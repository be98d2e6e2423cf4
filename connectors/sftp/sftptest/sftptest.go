// Package sftptest starts SFTP servers for tests: the built-in one, or a real
// OpenSSH sshd on a loopback port with its own configuration and keys.
package sftptest

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"zhutui/connectors/sftp"
)

// Server is an SFTP server a test can reach: its address, the user to log in
// as, a private key file that logs in and a known_hosts file that holds its
// host key.
type Server struct {
	Addr       string
	User       string
	KeyFile    string
	KnownHosts string
	Builtin    *sftp.Server // nil for sshd
}

// URL returns the sftp:// URL of an absolute folder on the server.
func (s *Server) URL(dir string) string {
	return (&url.URL{Scheme: "sftp", User: url.User(s.User), Host: s.Addr, Path: dir}).String()
}

// Builtin starts the built-in server for the test.
func Builtin(t testing.TB) *Server {
	t.Helper()
	dir := t.TempDir()
	clientKey, pemBytes, err := sftp.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sftp.StartServer("zhutui", clientKey.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	s := &Server{Addr: srv.Addr, User: "zhutui", KeyFile: filepath.Join(dir, "id"), KnownHosts: filepath.Join(dir, "known_hosts"), Builtin: srv}
	must(t, os.WriteFile(s.KeyFile, pemBytes, 0o600))
	must(t, os.WriteFile(s.KnownHosts, []byte(srv.KnownHostsLine()), 0o600))
	return s
}

// SSHD starts OpenSSH's sshd on a free loopback port for the test, letting
// the current user in with a generated key. Where sshd is not installed the
// test is skipped with a message, except under CI ($CI set), where it fails:
// .ci/run installs openssh-server, so CI never skips it.
func SSHD(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("sshd")
	if err != nil {
		for _, p := range []string{"/usr/sbin/sshd", "/usr/local/sbin/sshd"} {
			if _, serr := os.Stat(p); serr == nil {
				bin, err = p, nil
			}
		}
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("sshd is not installed, and CI must run this test (.ci/run installs openssh-server)")
		}
		t.Skip("sshd is not installed (Debian: openssh-server); CI installs it and runs this test")
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	hostKey, hostPEM, err := sftp.GenerateKey()
	must(t, err)
	clientKey, clientPEM, err := sftp.GenerateKey()
	must(t, err)
	s := &Server{User: u.Username, KeyFile: filepath.Join(dir, "id"), KnownHosts: filepath.Join(dir, "known_hosts")}
	must(t, os.WriteFile(filepath.Join(dir, "host_key"), hostPEM, 0o600))
	must(t, os.WriteFile(s.KeyFile, clientPEM, 0o600))
	must(t, os.WriteFile(filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(clientKey.PublicKey()), 0o600))
	port := freePort(t)
	s.Addr = fmt.Sprintf("127.0.0.1:%d", port)
	must(t, os.WriteFile(s.KnownHosts, []byte(knownhosts.Line([]string{knownhosts.Normalize(s.Addr)}, hostKey.PublicKey())+"\n"), 0o600))
	config := strings.Join([]string{
		"ListenAddress 127.0.0.1",
		fmt.Sprintf("Port %d", port),
		"HostKey " + filepath.Join(dir, "host_key"),
		"AuthorizedKeysFile " + filepath.Join(dir, "authorized_keys"),
		"Subsystem sftp internal-sftp",
		"PidFile none",
		"UsePAM no",
		"StrictModes no",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PermitRootLogin prohibit-password",
		"LogLevel ERROR",
	}, "\n") + "\n"
	cfgPath := filepath.Join(dir, "sshd_config")
	must(t, os.WriteFile(cfgPath, []byte(config), 0o600))
	if os.Geteuid() == 0 {
		os.MkdirAll("/run/sshd", 0o755) // sshd's privilege separation folder
	}
	cmd := exec.Command(bin, "-D", "-e", "-f", cfgPath)
	logFile, err := os.Create(filepath.Join(dir, "sshd.log"))
	must(t, err)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	must(t, cmd.Start())
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logFile.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logFile.Name()); err == nil && len(b) > 0 {
				t.Logf("sshd log:\n%s", b)
			}
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logFile.Name())
			t.Fatalf("sshd did not start on %s: %v\n%s", s.Addr, err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// HangUp listens on a loopback port and closes every connection at once,
// counting them: a server that takes the TCP connection and hangs up before
// the SSH handshake (too many at once, or restarting). It stops when the
// test ends.
func HangUp(t testing.TB) (addr string, conns *atomic.Int64) {
	t.Helper()
	conns = new(atomic.Int64)
	return accepting(t, func(c net.Conn) {
		conns.Add(1)
		c.Close()
	}), conns
}

// Silent listens on a loopback port, takes every connection and never says
// a word on it: a server that hangs (a stuck sshd, a firewall that swallows
// the traffic). It closes the connections and stops when the test ends.
func Silent(t testing.TB) (addr string) {
	t.Helper()
	var mu sync.Mutex
	var held []net.Conn
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	return accepting(t, func(c net.Conn) {
		mu.Lock()
		defer mu.Unlock()
		held = append(held, c)
	})
}

// accepting listens on a loopback port and hands every connection to take,
// until the test ends; it returns the address.
func accepting(t testing.TB, take func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			take(c)
		}
	}()
	return ln.Addr().String()
}
