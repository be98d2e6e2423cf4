package main_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh/knownhosts"

	"zhutui/connectors/sftp"
	"zhutui/connectors/sftp/sftptest"
	"zhutui/fixtures/bank"
)

// sftpWorkdir is a work folder whose appraisal centre, bank and SMS platform
// are folders on an SFTP server.
type sftpWorkdir struct {
	*workdir
	srv    *sftptest.Server
	remote string // the served folders' parent
}

func newSFTPWorkdir(t *testing.T, srv *sftptest.Server) *sftpWorkdir {
	w := emptyWorkdir(t)
	remote := t.TempDir()
	for _, d := range []string{"appraisal/out", "bank/in", "bank/out", "sms/in"} {
		if err := os.MkdirAll(filepath.Join(remote, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg := fmt.Sprintf(`[bank]
payer_account = "0200001009000012345"
[ssh]
key_file = %q
known_hosts = %q
timeout_seconds = 10
retries = 1
[locations]
certificates = %q
payments = %q
results = %q
sms = %q
`, srv.KeyFile, srv.KnownHosts, srv.URL(remote+"/appraisal/out"), srv.URL(remote+"/bank/in"),
		srv.URL(remote+"/bank/out"), srv.URL(remote+"/sms/in"))
	if err := os.WriteFile(w.path("zhutui.toml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return &sftpWorkdir{workdir: w, srv: srv, remote: remote}
}

func (w *sftpWorkdir) remotePath(p ...string) string {
	return filepath.Join(append([]string{w.remote}, p...)...)
}

// cycle runs the whole cycle over SFTP: the feed is taken from the appraisal
// centre's folder, the payment file and sidecar reach the bank's, its result
// file is taken, and the SMS batch reaches the SMS platform.
func cycle(t *testing.T, w *sftpWorkdir) {
	w.ok("init")
	copyFile(t, filepath.Join(samples, "night1/registrations.csv"), w.path("inbox/registrations/night1.csv"))
	copyFile(t, filepath.Join(samples, "night1/certificates.csv"), w.remotePath("appraisal/out/feed-20140201.csv"))
	out := w.ok("run", "--as-of", "2014-02-01")
	if !strings.Contains(out, "feed-20140201.csv: 29 applied, 1 unchanged") {
		t.Fatalf("the feed was not taken over SFTP:\n%s", out)
	}
	w.ok("batch", "approve", "B2014020101", "--by", "finance-li")
	w.ok("run", "--as-of", "2014-02-02")
	pay, err := os.ReadFile(w.remotePath("bank/in/ZTPAY_B2014020101.txt"))
	if err != nil {
		t.Fatalf("no payment file at the bank: %v", err)
	}
	if _, err := os.Stat(w.remotePath("bank/in/ZTPAY_B2014020101.txt.sha256")); err != nil {
		t.Fatalf("no sidecar at the bank: %v", err)
	}
	name, res, err := bank.Answer(pay, map[string]bank.Failure{"R028-1": bank.CardAbnormal})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.remotePath("bank/out", name), res, 0o644); err != nil {
		t.Fatal(err)
	}
	out = w.ok("run", "--as-of", "2014-02-03")
	if !strings.Contains(out, name+": 11 applied") || !strings.Contains(out, "verdict: RECONCILED") {
		t.Fatalf("the result file was not taken:\n%s", out)
	}
	sms, err := os.ReadFile(w.remotePath("sms/in/ZTSMS_B2014020101_1.csv"))
	if err != nil || !strings.Contains(string(sms), "R028-1-returned,13912345678,") || !strings.Contains(string(sms), "R002-1-paid,") {
		t.Fatalf("SMS batch: %v\n%s", err, sms)
	}
	if strings.Contains(string(sms), "R029-1") {
		t.Error("an SMS went to R029, whose mobile is not valid")
	}
	if !strings.Contains(string(w.read("reports/run-3/summary.txt")), "R029-1 paid 2000.00") {
		t.Error("the report does not list R029, paid without a valid mobile")
	}
	if _, err := os.Stat(w.remotePath("bank/out", name)); err != nil {
		t.Error("the result file was removed from the server")
	}
	// The SMS platform takes the file away; the next night sends nothing
	// again (every member would get a second message).
	if err := os.Remove(w.remotePath("sms/in/ZTSMS_B2014020101_1.csv")); err != nil {
		t.Fatal(err)
	}
	w.ok("run", "--as-of", "2014-02-04")
	if left, err := os.ReadDir(w.remotePath("sms/in")); err != nil || len(left) != 0 {
		t.Errorf("the SMS platform's folder the night after it took its file: %v, %v; want nothing put again", left, err)
	}
}

func TestSFTPWithOpenSSH(t *testing.T) {
	cycle(t, newSFTPWorkdir(t, sftptest.SSHD(t)))
}

// TestSFTPPasswordFromEnvironment: with no [ssh] key_file, zhutui logs in with
// $ZHUTUI_SFTP_PASSWORD and runs the whole cycle; a wrong password fails the
// night, naming the server, and the password is in no output.
func TestSFTPPasswordFromEnvironment(t *testing.T) {
	srv := sftptest.Builtin(t)
	srv.Builtin.AllowPassword("s3cret-pass")
	w := newSFTPWorkdir(t, srv)
	w.editConfig(t, fmt.Sprintf("key_file = %q\n", srv.KeyFile), "")
	w.env = append(w.env, "ZHUTUI_SFTP_PASSWORD=s3cret-pass")
	cycle(t, w)
	w.env[len(w.env)-1] = "ZHUTUI_SFTP_PASSWORD=wrong-pass"
	out, errs, code := w.zhutui("run", "--as-of", "2014-02-05")
	if code != 1 || !strings.Contains(errs, "unable to authenticate") || !strings.Contains(errs, srv.Addr) ||
		strings.Contains(out+errs, "wrong-pass") {
		t.Errorf("a wrong password: exit %d; want refused, naming %s, and no password shown:\n%s%s", code, srv.Addr, out, errs)
	}
}

// TestSFTPClashAtTheRename: over OpenSSH's sftp-server, which renames
// without overwriting, someone puts a file under the payment file's name while
// zhutui's checked copy waits to be renamed into place (see
// clashAtTheRename). The built-in server would overwrite: pkg/sftp renames as
// os.Rename does.
func TestSFTPClashAtTheRename(t *testing.T) {
	w := approvedOverOpenSSH(t)
	clashAtTheRename(t, w.workdir, w.remotePath("bank/in"), "run", "--as-of", "2014-02-02")
}

// approvedOverOpenSSH is an SFTP work folder, over OpenSSH's sftp-server,
// whose first night took the fixtures (the feed over SFTP) and whose batch
// B2014020101 is approved, to be delivered by the next night.
func approvedOverOpenSSH(t *testing.T) *sftpWorkdir {
	t.Helper()
	w := newSFTPWorkdir(t, sftptest.SSHD(t))
	w.ok("init")
	copyFile(t, filepath.Join(samples, "night1/registrations.csv"), w.path("inbox/registrations/night1.csv"))
	copyFile(t, filepath.Join(samples, "night1/certificates.csv"), w.remotePath("appraisal/out/feed-20140201.csv"))
	w.ok("run", "--as-of", "2014-02-01")
	w.ok("batch", "approve", "B2014020101", "--by", "finance-li")
	return w
}

// TestSFTPFileTakenByTheBank: over OpenSSH's sftp-server, a run killed after
// a batch's payment file and sidecar reached the bank, the bank then taking
// both away: the rerun puts nothing again (a missing remote file is told
// from one it cannot see) and records the batch as SENT.
func TestSFTPFileTakenByTheBank(t *testing.T) {
	w := approvedOverOpenSSH(t)
	w.killedAt(t, "deliver:put#2", "run", "--as-of", "2014-02-02")
	for _, n := range []string{"ZTPAY_B2014020101.txt", "ZTPAY_B2014020101.txt.sha256"} {
		if err := os.Rename(w.remotePath("bank/in", n), w.path(n)); err != nil {
			t.Fatal(err)
		}
	}
	w.ok("rerun", "2")
	if left, err := os.ReadDir(w.remotePath("bank/in")); err != nil || len(left) != 0 {
		t.Fatalf("the bank's folder after the rerun: %v, %v; want nothing put again", left, err)
	}
	if show := w.ok("batch", "show", "B2014020101"); !strings.Contains(show, "SENT") || !strings.Contains(show, "not put again") {
		t.Fatalf("batch show:\n%s", show)
	}
}

func TestSFTPFaults(t *testing.T) {
	srv := sftptest.Builtin(t)
	w := newSFTPWorkdir(t, srv)
	cycle(t, w)

	t.Run("SameFileTakenOnce", func(t *testing.T) {
		out := w.ok("run", "--as-of", "2014-02-04")
		if strings.Contains(out, "feed-20140201.csv") || strings.Contains(out, "ZTRES_") {
			t.Fatalf("a file was taken again:\n%s", out)
		}
	})
	t.Run("SameNameNewContentQuarantined", func(t *testing.T) {
		copyFile(t, filepath.Join(samples, "night2/certificates.csv"), w.remotePath("appraisal/out/feed-20140201.csv"))
		out := w.ok("run", "--as-of", "2014-02-05")
		if !strings.Contains(out, "feed-20140201.csv: QUARANTINED: a file of this name with other content") {
			t.Fatalf("run said:\n%s", out)
		}
	})
	t.Run("CutUploadDeliversExactlyOnce", func(t *testing.T) {
		// R007 is verified: a new batch is made, approved, and its upload cut.
		copyFile(t, filepath.Join(samples, "night2/registrations.csv"), w.path("inbox/registrations/night2.csv"))
		w.ok("run", "--as-of", "2014-02-06")
		w.ok("batch", "approve", "B2014020601", "--by", "finance-li")
		srv.Builtin.CutAfter(300) // every connection drops 300 bytes in
		_, errs, code := w.zhutui("run", "--as-of", "2014-02-07")
		if code != 1 || !strings.Contains(errs, "gave up after") {
			t.Fatalf("run through a failing network: exit %d\n%s", code, errs)
		}
		if _, err := os.Stat(w.remotePath("bank/in/ZTPAY_B2014020601.txt")); !os.IsNotExist(err) {
			t.Fatalf("a payment file is under its final name after a cut upload: %v", err)
		}
		srv.Builtin.CutAfter(0)
		out := w.ok("run", "--as-of", "2014-02-07")
		if !strings.Contains(out, "delivered ZTPAY_B2014020601.txt") {
			t.Fatalf("the next run did not deliver:\n%s", out)
		}
		out = w.ok("run", "--as-of", "2014-02-08")
		if strings.Contains(out, "delivered") {
			t.Fatalf("delivered twice:\n%s", out)
		}
		w.ok("ledger", "verify")
	})
	t.Run("OldFilesKnownByStamp", func(t *testing.T) {
		// A remote file older than sftp.FreshFor is known by its size and
		// mtime: read once more to record them, then not downloaded again.
		results, err := filepath.Glob(w.remotePath("bank/out/ZTRES_*"))
		if err != nil || len(results) != 1 {
			t.Fatalf("result files at the bank: %v, %v", results, err)
		}
		result := results[0]
		old := time.Now().Add(-time.Hour).Truncate(time.Second)
		for _, p := range []string{result, w.remotePath("appraisal/out/feed-20140201.csv")} {
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
		if out := w.ok("run", "--as-of", "2014-02-09"); strings.Contains(out, "QUARANTINED") || strings.Contains(out, "applied") {
			t.Fatalf("files seen before were taken again:\n%s", out)
		}
		// Other bytes of the same size under the same mtime: the stamp is as
		// recorded, so the file is not read, and the clash is not seen (the
		// limit of a stamp without ctime; nothing could be applied from it).
		body, err := os.ReadFile(result)
		if err != nil {
			t.Fatal(err)
		}
		i := bytes.LastIndexAny(body, "0123456789")
		body[i] = '0' + (body[i]-'0'+1)%10
		if err := os.WriteFile(result, body, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(result, old, old); err != nil {
			t.Fatal(err)
		}
		if out := w.ok("run", "--as-of", "2014-02-10"); strings.Contains(out, filepath.Base(result)) {
			t.Fatalf("a file with its recorded stamp was read again:\n%s", out)
		}
		// A second later, the stamp is another: read, and quarantined.
		if err := os.Chtimes(result, old, old.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		out := w.ok("run", "--as-of", "2014-02-11")
		if !strings.Contains(out, filepath.Base(result)+": QUARANTINED: a file of this name with other content") {
			t.Fatalf("a changed file was not read:\n%s", out)
		}
	})
	t.Run("CorrectedFileTakenUnderItsName", func(t *testing.T) {
		// A quarantined file is read again each night, stamp or not: its
		// sender may correct it under the same name, with the same size and
		// mtime, which a remote stamp cannot tell apart.
		good, err := os.ReadFile(filepath.Join(samples, "night2/certificates.csv"))
		if err != nil {
			t.Fatal(err)
		}
		bad := append([]byte("XX"), good[2:]...) // the first heading (two bytes in GB18030) unknown
		feed := w.remotePath("appraisal/out/feed-20140212.csv")
		old := time.Now().Add(-time.Hour).Truncate(time.Second)
		for i, body := range [][]byte{bad, good} {
			if err := os.WriteFile(feed, body, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(feed, old, old); err != nil {
				t.Fatal(err)
			}
			out := w.ok("run", "--as-of", fmt.Sprintf("2014-02-%d", 12+i))
			switch {
			case i == 0 && !strings.Contains(out, "feed-20140212.csv: QUARANTINED"):
				t.Fatalf("a feed with an unknown heading was not quarantined:\n%s", out)
			case i == 1 && !strings.Contains(out, "feed-20140212.csv: 2 applied"):
				t.Fatalf("the corrected feed was not taken:\n%s", out)
			}
		}
	})
	t.Run("ErrChangedHostKey", func(t *testing.T) {
		other, _, _ := sftp.GenerateKey()
		line := knownhosts.Line([]string{knownhosts.Normalize(srv.Addr)}, other.PublicKey()) + "\n"
		if err := os.WriteFile(srv.KnownHosts, []byte(line), 0o600); err != nil {
			t.Fatal(err)
		}
		_, errs, code := w.zhutui("run", "--as-of", "2014-02-14")
		if code != 1 || !strings.Contains(errs, "host key is NOT the one") {
			t.Fatalf("exit %d\n%s", code, errs)
		}
	})
}

// TestSFTPRetriesConfigured: the [ssh] retries of the configuration reach the
// SFTP locations. The appraisal centre's server hangs up on every connection
// before the handshake; with retries = 1 the night tries twice, and says so.
func TestSFTPRetriesConfigured(t *testing.T) {
	srv := sftptest.Builtin(t)
	addr, conns := sftptest.HangUp(t)
	w := newSFTPWorkdir(t, srv)
	w.editConfig(t, srv.Addr+w.remote+"/appraisal/out", addr+w.remote+"/appraisal/out")
	w.ok("init")
	_, errs, code := w.zhutui("run", "--as-of", "2014-02-01")
	if code != 1 || !strings.Contains(errs, "gave up after 2 attempts") || conns.Load() != 2 {
		t.Errorf("a night whose feed server hangs up: exit %d, %d connections; want 2 attempts (retries = 1):\n%s", code, conns.Load(), errs)
	}
}

// TestSFTPTimeoutConfigured: the [ssh] timeout_seconds of the configuration
// reach the SFTP locations. The appraisal centre's server takes the
// connection and never answers; with timeout_seconds = 1 and retries = 0 the
// night makes one attempt and gives up after about a second (without the
// setting, after 30 s; with retries = 0 taken for the default, after four
// attempts), saying what timed out.
func TestSFTPTimeoutConfigured(t *testing.T) {
	srv := sftptest.Builtin(t)
	addr := sftptest.Silent(t)
	w := newSFTPWorkdir(t, srv)
	w.editConfig(t, srv.Addr+w.remote+"/appraisal/out", addr+w.remote+"/appraisal/out")
	w.editConfig(t, "timeout_seconds = 10\nretries = 1\n", "timeout_seconds = 1\nretries = 0\n")
	w.ok("init")
	start := time.Now()
	_, errs, code := w.zhutui("run", "--as-of", "2014-02-01")
	took := time.Since(start)
	if code != 1 || !strings.Contains(errs, addr) || !strings.Contains(errs, "gave up after 1 attempt (no retry configured)") ||
		!strings.Contains(errs, "i/o timeout") || took > 15*time.Second {
		t.Errorf("a night whose feed server never answers: exit %d after %v; want a timeout naming %s within seconds (timeout_seconds = 1):\n%s",
			code, took.Round(time.Millisecond), addr, errs)
	}
}
