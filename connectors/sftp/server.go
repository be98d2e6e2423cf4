package sftp

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"

	pkgsftp "github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Server is a small SFTP server on the loopback interface, for tests and
// `zhutui demo`: an x/crypto/ssh server with a generated host key that lets
// one user in with one public key and serves pkg/sftp's server over the real
// file system (absolute paths; it is not a chroot). It can cut a connection
// after a number of bytes, to test interrupted uploads, and change a byte of
// what a client sends, to test that uploads are checked.
type Server struct {
	Addr string // 127.0.0.1:port

	hostKey  ssh.Signer
	config   *ssh.ServerConfig
	listener net.Listener
	cutAfter atomic.Int64
	flip     atomic.Pointer[[]byte]
	password atomic.Pointer[string]
	handlers atomic.Pointer[pkgsftp.Handlers]
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]bool
	closed   bool
}

// GenerateKey returns a new ed25519 key and its private half in OpenSSH PEM.
func GenerateKey() (ssh.Signer, []byte, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "zhutui")
	if err != nil {
		return nil, nil, err
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, nil, err
	}
	return signer, pem.EncodeToMemory(block), nil
}

// StartServer starts a server on 127.0.0.1 with a new host key, letting user
// in with the given public key.
func StartServer(user string, clientKey ssh.PublicKey) (*Server, error) {
	hostKey, _, err := GenerateKey()
	if err != nil {
		return nil, err
	}
	return StartServerWithHostKey(user, clientKey, hostKey)
}

// StartServerWithHostKey starts a server with a given host key, and offers
// the others given too (each of another type), as a server with keys of
// several types does.
func StartServerWithHostKey(user string, clientKey ssh.PublicKey, hostKey ssh.Signer, others ...ssh.Signer) (*Server, error) {
	s := &Server{hostKey: hostKey, conns: map[net.Conn]bool{}}
	s.config = &ssh.ServerConfig{
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if meta.User() == user && string(key.Marshal()) == string(clientKey.Marshal()) {
				return &ssh.Permissions{}, nil
			}
			return nil, fmt.Errorf("unknown user %q or key", meta.User())
		},
		PasswordCallback: func(meta ssh.ConnMetadata, password []byte) (*ssh.Permissions, error) {
			if want := s.password.Load(); want != nil && meta.User() == user && string(password) == *want {
				return &ssh.Permissions{}, nil
			}
			return nil, fmt.Errorf("unknown user %q or password", meta.User())
		},
	}
	s.config.AddHostKey(hostKey)
	for _, k := range others {
		s.config.AddHostKey(k)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.listener, s.Addr = l, l.Addr().String()
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// KnownHostsLine returns the known_hosts line for this server.
func (s *Server) KnownHostsLine() string {
	return knownhosts.Line([]string{knownhosts.Normalize(s.Addr)}, s.hostKey.PublicKey()) + "\n"
}

// HostKey returns the server's public host key.
func (s *Server) HostKey() ssh.PublicKey { return s.hostKey.PublicKey() }

// AllowPassword lets the user in with this password too, as a server that
// takes passwords would; until it is called, only the key is taken.
func (s *Server) AllowPassword(password string) { s.password.Store(&password) }

// CutAfter makes the server drop each connection once it has received n more
// bytes from the client (0: never).
func (s *Server) CutAfter(n int64) { s.cutAfter.Store(n) }

// FlipOnce makes the server change the first byte of the next occurrence of
// marker in what a client sends (within one read), as a faulty link or disk
// would, without changing any length; then it stops.
func (s *Server) FlipOnce(marker []byte) { s.flip.Store(&marker) }

// ServeHandlers makes the server answer new sessions with these handlers
// (pkg/sftp's request server) instead of the file system, for faults a file
// system does not make, such as a file shorter than its stat says.
func (s *Server) ServeHandlers(h pkgsftp.Handlers) { s.handlers.Store(&h) }

// Close stops the server and drops its connections.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	err := s.listener.Close()
	s.wg.Wait()
	return err
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		conn, err := s.listener.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			conn.Close()
			return
		}
		s.conns[conn] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(conn)
			s.mu.Lock()
			delete(s.conns, conn)
			s.mu.Unlock()
		}()
	}
}

func (s *Server) handle(conn net.Conn) {
	defer conn.Close()
	sc, chans, reqs, err := ssh.NewServerConn(conn, s.config)
	if err != nil {
		return
	}
	defer sc.Close()
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			return
		}
		go func() {
			for req := range creqs {
				ok := req.Type == "subsystem" && len(req.Payload) > 4 && string(req.Payload[4:]) == "sftp"
				req.Reply(ok, nil)
				if !ok {
					continue
				}
				var rw io.ReadWriteCloser = ch
				if n := s.cutAfter.Load(); n > 0 {
					rw = &cutter{ReadWriteCloser: ch, left: n, conn: conn}
				}
				rw = &flipper{ReadWriteCloser: rw, s: s}
				var srv interface {
					Serve() error
					Close() error
				}
				if h := s.handlers.Load(); h != nil {
					srv = pkgsftp.NewRequestServer(rw, *h)
				} else if srv, err = pkgsftp.NewServer(rw); err != nil {
					ch.Close()
					return
				}
				if err := srv.Serve(); err != nil && !errors.Is(err, io.EOF) {
					conn.Close()
				}
				srv.Close()
				ch.Close()
			}
		}()
	}
}

// cutter drops the whole connection once a number of bytes have been read
// from the client, as a network failure would.
type cutter struct {
	io.ReadWriteCloser
	left int64
	conn net.Conn
}

func (c *cutter) Read(p []byte) (int, error) {
	if c.left <= 0 {
		c.conn.Close()
		return 0, io.ErrUnexpectedEOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.ReadWriteCloser.Read(p)
	c.left -= int64(n)
	return n, err
}

// flipper changes a byte of a marker the server was told to flip (FlipOnce)
// in what the client sends.
type flipper struct {
	io.ReadWriteCloser
	s *Server
}

func (f *flipper) Read(p []byte) (int, error) {
	n, err := f.ReadWriteCloser.Read(p)
	if m := f.s.flip.Load(); m != nil && len(*m) > 0 {
		if i := bytes.Index(p[:n], *m); i >= 0 && f.s.flip.CompareAndSwap(m, nil) {
			p[i] ^= 0x20
		}
	}
	return n, err
}
