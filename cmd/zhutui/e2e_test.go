package main_test

import (
	"bytes"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"zhutui/pipeline"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// binary is the zhutui command built once for the end-to-end tests, with
// buildFlags.
var (
	binary     string
	buildFlags []string
)

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "zhutui-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "zhutui")
	if runtime.GOOS == "windows" {
		binary += ".exe"
	}
	if cover := os.Getenv("ZHUTUI_E2E_COVERDIR"); cover != "" {
		// make cover: the binary counts what the end-to-end tests run, into
		// that folder (go test sets GOCOVERDIR to a folder of its own).
		buildFlags = append(buildFlags, "-cover", "-coverpkg=zhutui/...")
		os.Setenv("GOCOVERDIR", cover)
	}
	build := exec.Command("go", append(append([]string{"build"}, buildFlags...), "-o", binary, ".")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build zhutui:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// workdir is a folder with a zhutui.toml, as an operator would have.
type workdir struct {
	t   *testing.T
	dir string
	env []string
}

// testConfig is the configuration of the end-to-end tests: the defaults and
// a payer account.
const testConfig = `[bank]
payer_account = "0200001009000012345"
`

// newWorkdir returns a folder with testConfig as its zhutui.toml.
func newWorkdir(t *testing.T) *workdir {
	t.Helper()
	return workdirWith(t, testConfig)
}

// workdirWith returns a folder with config as its zhutui.toml.
func workdirWith(t *testing.T, config string) *workdir {
	t.Helper()
	w := emptyWorkdir(t)
	if err := os.WriteFile(w.path("zhutui.toml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	return w
}

// emptyWorkdir returns an empty folder.
func emptyWorkdir(t *testing.T) *workdir {
	t.Helper()
	w := &workdir{t: t, dir: t.TempDir()}
	w.env = append(os.Environ(), "ZHUTUI_CONFIG=", "ZHUTUI_LEDGER_KEY=")
	return w
}

// zhutui runs the binary in the work folder and returns stdout, stderr and
// the exit status.
func (w *workdir) zhutui(args ...string) (string, string, int) {
	w.t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir, cmd.Env = w.dir, w.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		w.t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// ok runs the binary and fails the test unless it exits 0.
func (w *workdir) ok(args ...string) string {
	w.t.Helper()
	out, errs, code := w.zhutui(args...)
	if code != 0 {
		w.t.Fatalf("zhutui %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// sql runs SQL on the work folder's database from outside zhutui, as anyone
// with the file could: statements, or a query whose one value it returns.
func (w *workdir) sql(q string) (string, error) {
	// Escaped as zhutui escapes it: a subtest's folder may have a '#' in it.
	path := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(w.path("zhutui.db"))
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=10000")
	if err != nil {
		return "", err
	}
	defer db.Close()
	if strings.HasPrefix(strings.TrimSpace(q), "SELECT") {
		var v string
		err := db.QueryRow(q).Scan(&v)
		return v, err
	}
	_, err = db.Exec(q)
	return "", err
}

func (w *workdir) path(p ...string) string { return filepath.Join(append([]string{w.dir}, p...)...) }

func (w *workdir) read(p ...string) []byte {
	w.t.Helper()
	b, err := os.ReadFile(w.path(p...))
	if err != nil {
		w.t.Fatal(err)
	}
	return b
}

// dropNight1 puts the first night's fixture files, registrations and
// certificates, in w's inbound folders.
func (w *workdir) dropNight1(t *testing.T) {
	t.Helper()
	copyFile(t, filepath.Join(samples, "night1/registrations.csv"), w.path("inbox/registrations/night1.csv"))
	copyFile(t, filepath.Join(samples, "night1/certificates.csv"), w.path("inbox/certificates/night1.csv"))
}

// editConfig replaces old with new, once, in w's zhutui.toml; the test fails
// when old is not there.
func (w *workdir) editConfig(t *testing.T, old, new string) {
	t.Helper()
	cfg := string(w.read("zhutui.toml"))
	if !strings.Contains(cfg, old) {
		t.Fatalf("zhutui.toml has no %q:\n%s", old, cfg)
	}
	if err := os.WriteFile(w.path("zhutui.toml"), []byte(strings.Replace(cfg, old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// samples is the absolute path of the fixture files.
var samples = func() string {
	p, err := filepath.Abs("../../fixtures/samples")
	if err != nil {
		panic(err)
	}
	return p
}()

func TestInitOnEmptyFolder(t *testing.T) {
	w := emptyWorkdir(t)
	out := w.ok("init")
	for _, p := range []string{"zhutui.toml", "zhutui.db", "zhutui.ledger.key", "inbox/registrations", "outbox/payments"} {
		if _, err := os.Stat(w.path(p)); err != nil {
			t.Errorf("init made no %s: %v", p, err)
		}
	}
	if fi, err := os.Stat(w.path("zhutui.ledger.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("ledger key mode: %v, %v", fi.Mode(), err)
	}
	if !strings.Contains(out, "zhutui.ledger.key") || !strings.Contains(out, "loaded programme 2013") {
		t.Errorf("init said %q", out)
	}
	if out := w.ok("init"); !strings.Contains(out, "unchanged") {
		t.Errorf("second init said %q", out)
	}
	w.ok("run", "--as-of", "2014-02-01") // nothing to do, but it runs
	// The database holds ID and card numbers in full: its owner's alone,
	// and status says so when every user can read it.
	if fi, err := os.Stat(w.path("zhutui.db")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("database mode: %v, %v", fi.Mode(), err)
	}
	if st := w.ok("status"); strings.Contains(st, "can be read by every user") {
		t.Errorf("status of a private database:\n%s", st)
	}
	if err := os.Chmod(w.path("zhutui.db"), 0o644); err != nil {
		t.Fatal(err)
	}
	if st := w.ok("status"); !strings.Contains(st, "zhutui.db can be read by every user of this machine (mode -rw-r--r--)") ||
		!strings.Contains(st, "chmod 600 "+w.path("zhutui.db")) {
		t.Errorf("status of a database every user can read:\n%s", st)
	}

	// The key file's line, given as $ZHUTUI_LEDGER_KEY, is the same key.
	key := strings.TrimSpace(string(w.read("zhutui.ledger.key")))
	w.env = append(w.env, "ZHUTUI_LEDGER_KEY="+key)
	w.ok("status")
	w.env = w.env[:len(w.env)-1]
	// A key file its group may read is refused, as one others may read.
	for _, mode := range []os.FileMode{0o640, 0o604} {
		if err := os.Chmod(w.path("zhutui.ledger.key"), mode); err != nil {
			t.Fatal(err)
		}
		if _, errs, code := w.zhutui("status"); code != 2 || !strings.Contains(errs, fmt.Sprintf("is readable by others (mode %v): chmod 600 it", mode)) {
			t.Errorf("a ledger key file of mode %v: exit %d, %q", mode, code, errs)
		}
	}
}

// TestLedgerKeyMissing: a database whose ledger was chained with a key
// takes that key alone. With its file gone, zhutui init made a new key
// (saying "created the ledger key"), then refused it as not the one, and left
// it in the old key's place; other commands said to create one with init. Now
// each says to put the key back, and init makes none.
func TestLedgerKeyMissing(t *testing.T) {
	w := newWorkdir(t)
	w.ok("init")
	if err := os.Rename(w.path("zhutui.ledger.key"), w.path("kept.key")); err != nil {
		t.Fatal(err)
	}
	want := "no ledger key at " + w.path("zhutui.ledger.key") + ", and this database's ledger was chained with one, which alone " +
		"verifies it (a new key would not): put that key back where it was kept, or give it as $ZHUTUI_LEDGER_KEY"
	for _, cmd := range []string{"init", "status", "run"} {
		out, errs, code := w.zhutui(cmd)
		if code != 2 || errs != "zhutui "+cmd+": "+want+"\n" || strings.Contains(out, "created the ledger key") {
			t.Errorf("zhutui %s with the key gone: exit %d\n%s%s", cmd, code, out, errs)
		}
	}
	if _, err := os.Stat(w.path("zhutui.ledger.key")); !os.IsNotExist(err) {
		t.Fatalf("a key file was made: %v", err)
	}
	if err := os.Rename(w.path("kept.key"), w.path("zhutui.ledger.key")); err != nil {
		t.Fatal(err)
	}
	if out := w.ok("init"); !strings.Contains(out, "programme 2013 is loaded and unchanged") {
		t.Errorf("init with the key back:\n%s", out)
	}
}

func TestReconcileEndToEnd(t *testing.T) {
	w := newWorkdir(t)
	w.ok("init")
	// By hand: one UTF-8 export with English headers, one GB18030 feed with Chinese headers.
	out := w.ok("ingest", "registrations", filepath.Join(samples, "night1/registrations.csv"))
	if !strings.Contains(out, "31 applied") {
		t.Errorf("ingest registrations said %q", out)
	}
	out = w.ok("ingest", "certificates", filepath.Join(samples, "night1/certificates.csv"))
	if !strings.Contains(out, "29 applied, 1 unchanged") {
		t.Errorf("ingest certificates said %q", out)
	}
	out = w.ok("ingest", "certificates", filepath.Join(samples, "night1/certificates.csv"))
	if !strings.Contains(out, "skipped") {
		t.Errorf("the same file ingested twice said %q", out)
	}
	out = w.ok("run", "--as-of", "2014-02-01")
	golden(t, "night1/registrations.csv", w.read("reports/run-4/registrations.csv"))
	golden(t, "night1/exceptions.csv", w.read("reports/run-4/exceptions.csv"))
	if !strings.Contains(out, "31 judged") {
		t.Errorf("run said %q", out)
	}

	// Running again changes nothing.
	out = w.ok("run", "--as-of", "2014-02-01")
	if !strings.Contains(out, "0 judged, 0 changed") {
		t.Errorf("second run said %q", out)
	}
	if !bytes.Equal(w.read("reports/run-4/registrations.csv"), w.read("reports/run-5/registrations.csv")) {
		t.Error("registrations.csv changed on a run with no new input")
	}

	// The next night's files arrive at the configured locations.
	copyFile(t, filepath.Join(samples, "night2/registrations.csv"), w.path("inbox/registrations/night2.csv"))
	copyFile(t, filepath.Join(samples, "night2/certificates.csv"), w.path("inbox/certificates/night2.csv"))
	w.ok("run", "--as-of", "2014-02-02")
	golden(t, "night2/registrations.csv", w.read("reports/run-6/registrations.csv"))
	// The file list counts a row that changed nothing (R002's older version)
	// apart from one applied, as the run's own output does.
	summary, page := string(w.read("reports/run-6/summary.txt")), string(w.read("reports/run-6/report.html"))
	if !regexp.MustCompile(`registrations +night2\.csv +1 applied +1 unchanged +0 rejected`).MatchString(summary) ||
		!strings.Contains(page, `<td>night2.csv</td><td>taken</td><td class="n">1</td><td class="n">1</td><td class="n">0</td>`) {
		t.Errorf("the report's file list does not count the unchanged row apart:\n%s", summary)
	}

	// Personal numbers are masked and formulas escaped in every report file.
	// (report.html is a page, not a spreadsheet: it shows text as typed.)
	for _, name := range []string{"registrations.csv", "exceptions.csv", "summary.txt", "summary.csv", "rejects.csv",
		"alerts.csv", "no-sms.csv", "report.html"} {
		body := string(w.read("reports/run-6", name))
		for _, secret := range []string{"110105198003030030", "6210670000000000041", "13800138000"} {
			if strings.Contains(body, secret) {
				t.Errorf("%s holds an unmasked number %s", name, secret)
			}
		}
		if name != "report.html" && (strings.Contains(body, ",=HYPERLINK") || strings.Contains(body, "\"=HYPERLINK") || strings.Contains(body, " =HYPERLINK")) {
			t.Errorf("%s holds an unescaped formula", name)
		}
	}
}

func TestQuarantineEndToEnd(t *testing.T) {
	w := newWorkdir(t)
	w.ok("init")
	copyFile(t, filepath.Join(samples, "night1/registrations.csv"), w.path("inbox/registrations/export.csv"))
	// A feed without its status column cannot be trusted as a whole.
	if err := os.WriteFile(w.path("inbox/certificates/feed.csv"),
		[]byte("certificate_number,id_number,name,occupation,level,issue_date,authority_code,updated_at\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Hidden files and files still being written or downloaded are not
	// looked at, even when they could not be trusted.
	for _, name := range []string{".export.csv", "export2.csv.part", "export3.csv.tmp"} {
		if err := os.WriteFile(w.path("inbox/registrations", name), []byte("not a header\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := w.ok("run", "--as-of", "2014-02-01")
	if !strings.Contains(out, "feed.csv: QUARANTINED") || !strings.Contains(out, "status (状态)") ||
		!strings.Contains(out, "export.csv: 31 applied") {
		t.Errorf("run said %q", out)
	}
	if strings.Contains(out, ".export.csv") || strings.Contains(out, "export2") || strings.Contains(out, "export3") {
		t.Errorf("run looked at a hidden or unfinished file: %q", out)
	}
	summary := string(w.read("reports/run-1/summary.txt"))
	if !regexp.MustCompile(`certificates +feed\.csv +QUARANTINED`).MatchString(summary) ||
		!regexp.MustCompile(`registrations +export\.csv +31 applied +0 unchanged +0 rejected`).MatchString(summary) {
		t.Errorf("summary does not report both files, the quarantined one and the one taken:\n%s", summary)
	}
	// The same name with other content, after a file of that name was taken:
	// the same size and mtime, one byte changed (collect must not trust a
	// file's size and mtime alone).
	export := w.read("inbox/registrations/export.csv")
	fi, err := os.Stat(w.path("inbox/registrations/export.csv"))
	if err != nil {
		t.Fatal(err)
	}
	altered := bytes.Replace(export, []byte("R001,"), []byte("R00X,"), 1)
	if bytes.Equal(altered, export) {
		t.Fatal("the sample has no R001")
	}
	if err := os.WriteFile(w.path("inbox/registrations/export.csv"), altered, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(w.path("inbox/registrations/export.csv"), fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	out = w.ok("run", "--as-of", "2014-02-02")
	if !strings.Contains(out, "export.csv: QUARANTINED: a file of this name with other content") {
		t.Errorf("run said %q", out)
	}

	// Bad rows are rejected with file, line and field; the others are applied.
	rows := "registration_id,updated_at,submitted_at,name,id_number,card_number,mobile,certificate_number,occupation,level,issue_date,station,verification\n" +
		"RX1,2014-01-10 09:00:00,2014-01-10 09:00:00,王芳,110105198001010016,6210670000000000016,13800138000,CX1,半导体芯片制造工,1,2013-02-30,东城区服务站,passed\n" +
		"RX2,2014-01-10 09:00:00,2014-01-10 09:00:00,王芳,110105198001010016,6210670000000000016,13800138000,CX2,半导体芯片制造工,1,2013-11-05,东城区服务站,passed\n"
	if err := os.WriteFile(w.path("inbox/registrations/late.csv"), []byte(rows), 0o644); err != nil {
		t.Fatal(err)
	}
	out = w.ok("run", "--as-of", "2014-02-03")
	if !strings.Contains(out, "late.csv: 1 applied, 0 unchanged, 1 rejected") {
		t.Errorf("run said %q", out)
	}
	if strings.Contains(out, "export.csv") {
		t.Errorf("the quarantined export.csv, left in the inbox, was reported again: %q", out)
	}
	golden(t, "quarantine/rejects.csv", w.read("reports/run-3/rejects.csv"))
	// status lists them, the latest first, each with when it was met.
	st := w.ok("status")
	if !regexp.MustCompile(`\nquarantined files \(the last 10, latest first; when, what, why\):\n` +
		`  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  registrations file://\S+/export\.csv: a file of this name with other content.*\n` +
		`  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  certificates file://\S+/feed\.csv: feed\.csv:1: required column missing: status`).MatchString(st) {
		t.Errorf("status of the quarantined files:\n%s", st)
	}
}

// TestFutureRowsRejected: a registration or certificate row dated more than
// a day after the clock would win against every correction sent after it;
// it is rejected with its line, and the rows beside it are applied. A later
// file with the right date then applies.
// TestIngestOfTheWrongKind: a file given to `zhutui ingest` as another kind
// than its first line shows is refused, exit 2, with nothing recorded, and is
// taken as its own kind afterwards. Quarantined as the wrong kind, its bytes
// were refused as the right one too ("quarantined before").
func TestIngestOfTheWrongKind(t *testing.T) {
	w := newWorkdir(t)
	w.ok("init")
	regs, certs := filepath.Join(samples, "night1/registrations.csv"), filepath.Join(samples, "night1/certificates.csv")
	result := w.path("ZTRES_B2014020101.txt")
	if err := os.WriteFile(result, []byte("H|B2014020101|0|0.00\r\nT|0|0.00|0|0.00\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ kind, path, says string }{
		{"certificates", regs, regs + " is not a certificate feed: its first line is the header of a registration export (zhutui ingest registrations " + regs + ")"},
		{"registrations", certs, certs + " is not a registration export: its first line is the header of a certificate feed"},
		{"results", certs, certs + " is not a bank result file: its first line is the header of a certificate feed"},
		{"registrations", result, result + " is not a registration export: its first line is the header of a bank result file"},
	} {
		if _, errs, code := w.zhutui("ingest", c.kind, c.path); code != 2 || !strings.Contains(errs, "zhutui ingest: "+c.says) {
			t.Errorf("ingest %s %s: exit %d, %q", c.kind, filepath.Base(c.path), code, errs)
		}
	}
	if n, err := w.sql(`SELECT (SELECT count(*) FROM files) + (SELECT count(*) FROM runs)`); err != nil || strings.TrimSpace(n) != "0" {
		t.Fatalf("refused ingests recorded %s files and runs (%v)", n, err)
	}
	if out := w.ok("ingest", "certificates", certs); !strings.Contains(out, "certificates.csv: 29 applied") {
		t.Errorf("the certificate feed as itself:\n%s", out)
	}
	if out := w.ok("ingest", "registrations", regs); !strings.Contains(out, "registrations.csv: 31 applied") {
		t.Errorf("the registration export as itself:\n%s", out)
	}
}

// TestLocationPasswordNotShown: a location with a password in it is refused,
// and the message, which goes to stderr and the daemon's log, does not
// repeat the password.
func TestLocationPasswordNotShown(t *testing.T) {
	for _, loc := range []string{"sftp://bank:s3cret@127.0.0.1:22/out", "ftp://bank:s3cret@127.0.0.1/out"} {
		w := workdirWith(t, testConfig+"[locations]\nresults = \""+loc+"\"\n")
		w.ok("init")
		_, errs, code := w.zhutui("run", "--as-of", "2014-02-01")
		if code != 2 || strings.Contains(errs, "s3cret") || !strings.Contains(errs, "bank:xxxxx@127.0.0.1") {
			t.Errorf("%s: exit %d, %q", loc, code, errs)
		}
	}
}

func TestFutureRowsRejected(t *testing.T) {
	w := newWorkdir(t)
	w.ok("init")
	future := time.Now().In(pipeline.Beijing).Add(72 * time.Hour).Format(time.DateTime)
	regs := "registration_id,updated_at,submitted_at,name,id_number,card_number,mobile,certificate_number,occupation,level,issue_date,station,verification\n" +
		"RX1,2014-01-10 09:00:00,2014-01-10 09:00:00,王芳,110105198001010016,6210670000000000016,13800138000,CX1,半导体芯片制造工,1,2013-11-05,东城区服务站,passed\n" +
		"RX2," + future + ",2014-01-10 09:00:00,王芳,110105198001010016,6210670000000000016,13800138000,CX2,半导体芯片制造工,1,2013-11-05,东城区服务站,passed\n"
	certs := "certificate_number,id_number,name,occupation,level,issue_date,authority_code,status,updated_at\n" +
		"CX1,110105198001010016,王芳,半导体芯片制造工,1,2013-11-05,110105001,valid," + future + "\n"
	for name, body := range map[string]string{"inbox/registrations/a.csv": regs, "inbox/certificates/a.csv": certs} {
		if err := os.WriteFile(w.path(name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := w.ok("run", "--as-of", "2014-02-01")
	if !strings.Contains(out, "registrations a.csv: 1 applied, 0 unchanged, 1 rejected") ||
		!strings.Contains(out, "certificates  a.csv: 0 applied, 0 unchanged, 1 rejected") {
		t.Errorf("run said %q", out)
	}
	rejects := string(w.read("reports/run-1/rejects.csv"))
	for _, line := range []string{"a.csv,3,updated_at,", "a.csv,2,updated_at,"} {
		if !strings.Contains(rejects, line+future+" lies in the future (later than ") {
			t.Errorf("rejects.csv has no %s…:\n%s", line, rejects)
		}
	}
	// The feed sends the certificate again, dated right: RX1 is paid on it.
	fixed := strings.Replace(certs, future, "2014-01-20 09:00:00", 1)
	if err := os.WriteFile(w.path("inbox/certificates/b.csv"), []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := w.ok("run", "--as-of", "2014-02-02"); !strings.Contains(out, "certificates  b.csv: 1 applied") {
		t.Errorf("run said %q", out)
	}
	if csv := string(w.read("reports/run-2/registrations.csv")); !strings.Contains(csv, "RX1,BATCHED,2000.00") {
		t.Errorf("registrations.csv:\n%s", csv)
	}
	// Run 2's report lists the file run 2 took and no rejected row: run 1's
	// are in run 1's report.
	if rejects := string(w.read("reports/run-2/rejects.csv")); rejects != "file,line,field,reason\n" {
		t.Errorf("run 2's rejects.csv lists rows of other runs:\n%s", rejects)
	}
	summary := string(w.read("reports/run-2/summary.txt"))
	_, files, _ := strings.Cut(summary, "文件 Files taken by this run\n")
	files, _, _ = strings.Cut(files, "\n\n")
	if !strings.Contains(files, "b.csv") || strings.Contains(files, "a.csv") {
		t.Errorf("run 2's summary.txt lists the files\n%s\nwant b.csv alone", files)
	}
}

// withoutPayerAccount is an initialised work folder with the first night's
// files and the defaults, so no payer account: its nights fail at the batch
// stage until one is set.
func withoutPayerAccount(t *testing.T) *workdir {
	t.Helper()
	w := workdirWith(t, "")
	w.ok("init")
	w.dropNight1(t)
	return w
}

// TestNoPayerAccount: a night with payments to batch and no payer account
// configured fails at the batch stage as a configuration error (exit 2),
// having made no batch; once the account is set, its rerun makes the batch.
func TestNoPayerAccount(t *testing.T) {
	w := withoutPayerAccount(t)
	out, errs, code := w.zhutui("run", "--as-of", "2014-02-01")
	if code != 2 || !strings.Contains(errs, "zhutui run: run 1, stage batch: ") ||
		!strings.Contains(errs, "render batch B2014020101: no payer account: set [bank] payer_account") ||
		!strings.Contains(out, "31 judged") {
		t.Errorf("a night without a payer account: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	if list := w.ok("batch", "list"); strings.Contains(list, "B2014020101") {
		t.Errorf("a batch was made without a payer account:\n%s", list)
	}
	if st := w.ok("status"); !strings.Contains(st, "stage batch failed: ") || !strings.Contains(st, "finish it with: zhutui rerun 1") {
		t.Errorf("status after the night:\n%s", st)
	}
	// For monitoring: status --check lists it and exits 1, until the rerun.
	if out, errs, code := w.zhutui("status", "--check"); code != 1 ||
		!strings.HasSuffix(out, "\nNEEDS ATTENTION:\n  - the last run, 1, failed: finish it with: zhutui rerun 1\n") ||
		errs != "zhutui status: 1 thing needs attention (listed at the end of the status)\n" {
		t.Errorf("status --check after the night: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	if err := os.WriteFile(w.path("zhutui.toml"), []byte(testConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := w.ok("rerun", "1"); !strings.Contains(out, "batch B2014020101: 11 lines, 19000.00 yuan") {
		t.Errorf("the rerun with a payer account:\n%s", out)
	}
	if out := w.ok("status", "--check"); !strings.HasSuffix(out, "\nnothing needs attention\n") {
		t.Errorf("status --check after the rerun:\n%s", out)
	}
}

// TestRerunOfASupersededRun: each night takes every stage again, so a failed
// run that a later night took over is not rerun: `zhutui rerun` of it would
// batch that day's new payments under its older business date. While the
// later night is unfinished it is the one to rerun; once it has succeeded,
// nothing is left.
func TestRerunOfASupersededRun(t *testing.T) {
	w := withoutPayerAccount(t)
	for _, date := range []string{"2014-02-01", "2014-02-02"} { // no payer account: both fail at batch
		if _, errs, code := w.zhutui("run", "--as-of", date); code != 2 {
			t.Fatalf("night %s: exit %d, %s", date, code, errs)
		}
	}
	if st := w.ok("status"); !strings.Contains(st, "run 2, begun after it, takes every stage again: finish that one (zhutui rerun 2), not this one") ||
		strings.Contains(st, "zhutui rerun 1") {
		t.Errorf("status with two failed nights:\n%s", st)
	}
	if _, errs, code := w.zhutui("rerun", "1"); code != 2 || !strings.Contains(errs, "run 1 is not rerun: run 2, begun after it") ||
		!strings.Contains(errs, "would batch under its business date 2014-02-01") {
		t.Errorf("rerun of the superseded night: exit %d, %q", code, errs)
	}
	if err := os.WriteFile(w.path("zhutui.toml"), []byte(testConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	w.ok("rerun", "2")
	// The next night's files arrive; the superseded run takes none of them.
	copyFile(t, filepath.Join(samples, "night2/registrations.csv"), w.path("inbox/registrations/night2.csv"))
	copyFile(t, filepath.Join(samples, "night2/certificates.csv"), w.path("inbox/certificates/night2.csv"))
	if st := w.ok("status"); !strings.Contains(st, "run 2, begun after it, succeeded and took every stage again: nothing is left to finish") {
		t.Errorf("status once the later night succeeded:\n%s", st)
	}
	if out := w.ok("rerun", "1"); !strings.Contains(out, "nothing is left to finish") {
		t.Errorf("rerun of a run a later night did: %q", out)
	}
	// Nor is that night redone by its date: no batch goes back before
	// B2014020201, and nothing is recorded.
	if _, errs, code := w.zhutui("run", "--as-of", "2014-02-01"); code != 2 ||
		!strings.Contains(errs, "business date 2014-02-01 is before 2014-02-02, the date of batch B2014020201") {
		t.Errorf("a night dated before the last batch: exit %d, %q", code, errs)
	}
	if n, err := w.sql(`SELECT count(*) FROM runs`); err != nil || strings.TrimSpace(n) != "2" {
		t.Errorf("runs after the refused night: %s, %v", n, err)
	}
	if list := w.ok("batch", "list"); strings.Contains(list, "B20140201") || !strings.Contains(list, "B2014020201") {
		t.Errorf("batches after the refused reruns:\n%s", list)
	}
	if out := w.ok("run", "--as-of", "2014-02-03"); !strings.Contains(out, "night2.csv: 1 applied") {
		t.Errorf("the next night did not take the new files:\n%s", out)
	}
	// A clock that ran ahead made a batch dated later than today: a date
	// given is still held to it, but today's (the default, the daemon's) is
	// not, or the nights would stop until that date came round.
	if _, err := w.sql(`UPDATE batches SET business_date = '2999-12-31' WHERE id = 'B2014020301'`); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := w.zhutui("run", "--as-of", "2014-02-04"); code != 2 || !strings.Contains(errs, "is before 2999-12-31, the date of batch B2014020301") {
		t.Errorf("a date given, before a batch from a clock ahead: exit %d, %q", code, errs)
	}
	w.ok("run")
}

func TestExitCodes(t *testing.T) {
	w := newWorkdir(t)
	if _, errs, code := w.zhutui("bogus"); code != 2 || !strings.Contains(errs, "unknown command") {
		t.Errorf("unknown command: exit %d, %q", code, errs)
	}
	// Help asked for is not a mistake: exit 0, the commands on stdout, a
	// command's usage and options with its -h.
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		if out, _, code := w.zhutui(args...); code != 0 || !strings.Contains(out, "usage: zhutui [--config FILE]") ||
			!strings.Contains(out, "zhutui help [COMMAND]") || !strings.Contains(out, "\n  status ") {
			t.Errorf("zhutui %s: exit %d, %q", strings.Join(args, " "), code, out)
		}
	}
	for _, args := range [][]string{{"help", "run"}, {"run", "-h"}} {
		if out, errs, code := w.zhutui(args...); code != 0 || !strings.HasPrefix(out, "usage: zhutui run [--as-of DATE]\n  one nightly cycle") ||
			!strings.Contains(out, "-as-of string") || errs != "" {
			t.Errorf("zhutui %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), code, out, errs)
		}
	}
	// A mistaken option: the command's usage, then the mistake, on stderr.
	if out, errs, code := w.zhutui("run", "--bogus"); code != 2 || out != "" ||
		!strings.HasPrefix(errs, "usage: zhutui run [--as-of DATE]\n") ||
		!strings.HasSuffix(errs, "\nzhutui run: flag provided but not defined: -bogus\n") {
		t.Errorf("zhutui run --bogus: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if _, errs, code := w.zhutui("help", "bogus"); code != 2 || !strings.Contains(errs, `unknown command "bogus"`) {
		t.Errorf("help for an unknown command: exit %d, %q", code, errs)
	}
	if _, errs, code := w.zhutui("--bogus"); code != 2 || !strings.Contains(errs, "flag provided but not defined: -bogus") ||
		!strings.Contains(errs, "usage: zhutui") {
		t.Errorf("an unknown global option: exit %d, %q", code, errs)
	}
	if _, errs, code := w.zhutui("run"); code != 2 || !strings.Contains(errs, "no database at ") || !strings.Contains(errs, "run `zhutui init` first") {
		t.Errorf("run before init: exit %d, %q", code, errs)
	}
	if _, err := os.Stat(w.path("zhutui.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("run before init left a database behind (%v)", err)
	}
	if _, errs, code := w.zhutui("--config", "nope.toml", "init"); code != 2 || !strings.Contains(errs, "nope.toml") {
		t.Errorf("missing named config: exit %d, %q", code, errs)
	}
	// A configuration named by $ZHUTUI_CONFIG is named too: missing, it is
	// an error, not the defaults.
	w.env = append(w.env, "ZHUTUI_CONFIG=nope-either.toml")
	if _, errs, code := w.zhutui("init"); code != 2 || !strings.Contains(errs, "nope-either.toml") {
		t.Errorf("missing config named by $ZHUTUI_CONFIG: exit %d, %q", code, errs)
	}
	w.env = w.env[:len(w.env)-1]
	if err := os.WriteFile(w.path("bad.toml"), []byte("databse = \"x.db\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := w.zhutui("--config", "bad.toml", "init"); code != 2 || !strings.Contains(errs, "databse") {
		t.Errorf("unknown config key: exit %d, %q", code, errs)
	}
	if err := os.WriteFile(w.path("typo.toml"), []byte("[sms_templates]\npaid = \"{nme}您好\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := w.zhutui("--config", "typo.toml", "init"); code != 2 || !strings.Contains(errs, "[sms_templates] paid: unknown placeholder {nme}") {
		t.Errorf("a template placeholder no notice fills: exit %d, %q", code, errs)
	}
	if err := os.WriteFile(w.path("lines.toml"), []byte("[bank]\nmax_lines = 1000000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := w.zhutui("--config", "lines.toml", "init"); code != 2 ||
		!strings.Contains(errs, "[bank] max_lines must be from 1 to 999999") {
		t.Errorf("max_lines past six-digit line numbers: exit %d, %q", code, errs)
	}
	if err := os.WriteFile(w.path("minus.toml"), []byte("[bank]\nmax_lines = -1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := w.zhutui("--config", "minus.toml", "init"); code != 2 ||
		!strings.Contains(errs, "[bank] max_lines must be from 1 to 999999") {
		t.Errorf("max_lines below one: exit %d, %q", code, errs)
	}
	if err := os.WriteFile(w.path("payer.toml"), []byte("[bank]\npayer_account = \"0200 0010|09\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := w.zhutui("--config", "payer.toml", "init"); code != 2 ||
		!strings.Contains(errs, `[bank] payer_account "0200 0010|09": only the digits 0-9`) {
		t.Errorf("a payer account that is not digits: exit %d, %q", code, errs)
	}
	if err := os.WriteFile(w.path("big.toml"), []byte("xlsx_max_registrations = 2000000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := w.zhutui("--config", "big.toml", "init"); code != 2 || !strings.Contains(errs, "xlsx_max_registrations must be from 1 to 1048575") {
		t.Errorf("a workbook cap beyond a sheet's rows: exit %d, %q", code, errs)
	}
	w.ok("init")
	if out := w.ok("batch", "list"); out != "no batches yet\n" {
		t.Errorf("batch list before any batch: %q", out)
	}
	if _, errs, code := w.zhutui("batch", "lsit"); code != 2 || !strings.Contains(errs, `zhutui batch: unknown subcommand "lsit"`) {
		t.Errorf("a mistyped batch subcommand: exit %d, %q", code, errs)
	}
	// A rejection is one batch's: a second ID is not taken as rejected too
	// (an approval takes several, TestApproveSeveral).
	if _, errs, code := w.zhutui("batch", "reject", "B2014020101", "B2014020102", "--by", "finance-li", "--reason", "x"); code != 2 ||
		!strings.Contains(errs, "usage: zhutui batch reject ID --by USER --reason TEXT") {
		t.Errorf("reject of two batches at once: exit %d, %q", code, errs)
	}
	if _, errs, code := w.zhutui("batch", "approve", "B2014020101", "--by", "li\n  2014-02-01 09:00:00  approved   by boss"); code != 2 ||
		!strings.Contains(errs, `approve: "li\n  2014-02-01 09:00:00  approved   by boss" holds a control character`) {
		t.Errorf("approve by a name with a line break: exit %d, %q", code, errs)
	}
	if _, errs, code := w.zhutui("batch", "approve", "--by", "finance-li"); code != 2 ||
		!strings.Contains(errs, "usage: zhutui batch approve ID... --by USER") {
		t.Errorf("approve of no batch: exit %d, %q", code, errs)
	}
	if _, errs, code := w.zhutui("ledger", "verfy"); code != 2 || !strings.Contains(errs, "usage: zhutui ledger verify") {
		t.Errorf("a mistyped ledger subcommand: exit %d, %q", code, errs)
	}
	if _, errs, code := w.zhutui("run", "--as-of", "yesterday"); code != 2 || !strings.Contains(errs, "--as-of") {
		t.Errorf("bad --as-of: exit %d, %q", code, errs)
	}
	// Two days on, so that midnight passing in between does not matter.
	later := time.Now().In(pipeline.Beijing).AddDate(0, 0, 2).Format("2006-01-02")
	if _, errs, code := w.zhutui("run", "--as-of", later); code != 2 ||
		!strings.Contains(errs, "--as-of "+later+" is after today") {
		t.Errorf("--as-of in two days: exit %d, %q", code, errs)
	}
	if _, errs, code := w.zhutui("ingest", "registrations", w.path("missing.csv")); code != 1 || !strings.Contains(errs, "missing.csv: no such file") {
		t.Errorf("missing input file: exit %d, %q", code, errs)
	}
	if _, errs, code := w.zhutui("ingest", "registrations", w.path("inbox")); code != 1 || !strings.Contains(errs, "inbox is not a file") {
		t.Errorf("a folder to ingest: exit %d, %q", code, errs)
	}
	if _, errs, code := w.zhutui("ingest", "payments", w.path("bad.toml")); code != 2 || !strings.Contains(errs, `zhutui ingest: unknown kind "payments"`) {
		t.Errorf("ingest of an unknown kind: exit %d, %q", code, errs)
	}
	if _, errs, code := w.zhutui("rerun", "0"); code != 2 || !strings.Contains(errs, `zhutui rerun: "0" is not a run id`) {
		t.Errorf("rerun of run 0: exit %d, %q", code, errs)
	}
	if out := w.ok("status"); !strings.Contains(out, "no run yet") {
		t.Errorf("a missing input file left a run behind:\n%s", out)
	}
	for _, n := range []string{"0", "-1"} { // not "no run yet", nor every run
		if _, errs, code := w.zhutui("status", "--runs", n); code != 2 || !strings.Contains(errs, "zhutui status: --runs "+n+": want 1 or more") {
			t.Errorf("status --runs %s: exit %d, %q", n, code, errs)
		}
	}
	if _, errs, code := w.zhutui("report"); code != 1 || !strings.Contains(errs, "no run yet: nothing to report") {
		t.Errorf("report before any run: exit %d, %q", code, errs)
	}
	// A manual ingest that failed is not finished by zhutui rerun: status
	// says what to do instead.
	if err := os.WriteFile(w.path("bad.csv"), []byte("a,b\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := w.zhutui("ingest", "registrations", w.path("bad.csv")); code != 1 || !strings.Contains(errs, "quarantined") {
		t.Errorf("a file without the registration columns: exit %d, %q", code, errs)
	}
	out := w.ok("status")
	if !strings.Contains(out, "run 1 was a manual ingest, which is not rerun") || strings.Contains(out, "zhutui rerun 1") ||
		!strings.Contains(out, "\n    stage collect failed: ") || strings.Contains(out, "    error: ") {
		t.Errorf("status after a failed ingest (the stage that failed, once, and what to do):\n%s", out)
	}
	if _, errs, code := w.zhutui("rerun", "1"); code != 1 || !strings.Contains(errs, "manual ingest") {
		t.Errorf("rerun of an ingest: exit %d, %q", code, errs)
	}
	// A ledger key other than the one the database was chained under is a
	// configuration error, before any run is recorded.
	w.env = append(w.env, "ZHUTUI_LEDGER_KEY=a key that is long enough but wrong")
	if _, errs, code := w.zhutui("run", "--as-of", "2014-02-01"); code != 2 ||
		!strings.Contains(errs, "the ledger key from $ZHUTUI_LEDGER_KEY is not the one this database's ledger was chained with") {
		t.Errorf("another ledger key: exit %d, %q", code, errs)
	}
	w.env = w.env[:len(w.env)-1]
	if out := w.ok("status"); strings.Contains(out, "run 2") {
		t.Errorf("a run refused for its ledger key was recorded:\n%s", out)
	}
	// The same bad file again is not "taken before": it was never applied,
	// and the operator is told why.
	if out, errs, code := w.zhutui("ingest", "registrations", w.path("bad.csv")); code != 1 || strings.Contains(out, "taken before") ||
		!strings.Contains(errs, "bad.csv: quarantined before, nothing applied: bad.csv:1: required column missing") {
		t.Errorf("the quarantined file again: exit %d, %q %q", code, out, errs)
	}
	// An ingest with more rejected rows than it lists says how many more;
	// one that lists them all says nothing more.
	rejected := func(name string, n int) string {
		rows := "registration_id,updated_at,submitted_at,name,id_number,card_number,mobile,certificate_number,occupation,level,issue_date,station,verification\n"
		for i := range n {
			rows += fmt.Sprintf("%s%d,2014-01-10 09:00:00,2014-01-10 09:00:00,王芳,110105198001010016,6210670000000000016,13800138000,%s%d,半导体芯片制造工,1,2013-02-30,东城区服务站,passed\n", name, i, name, i)
		}
		if err := os.WriteFile(w.path(name+".csv"), []byte(rows), 0o644); err != nil {
			t.Fatal(err)
		}
		return w.path(name + ".csv")
	}
	out, errs, code := w.zhutui("ingest", "registrations", rejected("many", pipeline.MaxRejectsKept+2))
	if code != 0 || !strings.Contains(out, "0 applied, 0 unchanged, 102 rejected") ||
		strings.Count(errs, "  rejected ") != pipeline.MaxRejectsKept || !strings.Contains(errs, "  … and 2 more rejected rows (see the report)\n") {
		t.Errorf("an ingest of 102 rejected rows: exit %d\nstdout %q\nstderr (%d rejected listed):\n%s", code, out, strings.Count(errs, "  rejected "), errs)
	}
	out, errs, code = w.zhutui("ingest", "registrations", rejected("few", 2))
	if code != 0 || !strings.Contains(out, "0 applied, 0 unchanged, 2 rejected") ||
		strings.Count(errs, "  rejected ") != 2 || strings.Contains(errs, "more rejected rows") {
		t.Errorf("an ingest of 2 rejected rows: exit %d\nstdout %q\nstderr:\n%s", code, out, errs)
	}
}
