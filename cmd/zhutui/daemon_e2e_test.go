package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"zhutui/connectors/sqlite"
	"zhutui/pipeline"
)

// TestDaemon runs the daemon on a two-second schedule: two scheduled runs
// happen, one after the other, and SIGTERM stops it cleanly.
func TestDaemon(t *testing.T) {
	cfg := testConfig + "[schedule]\ncron = \"*/2 * * * * *\"\n"
	w := workdirWith(t, cfg)
	w.ok("init")
	copyFile(t, filepath.Join(samples, "night1/registrations.csv"), w.path("inbox/registrations/night1.csv"))
	d, out, errs := startDaemon(t, w, nil, "-v")
	scheduled := regexp.MustCompile(`(?m)^run (\d+)\s+\S+\s+schedule\s+succeeded (\S+ \S+) \.\. (\S+ \S+)$`)
	var runs [][]string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		status, _, _ := w.zhutui("status")
		if runs = scheduled.FindAllStringSubmatch(status, -1); len(runs) >= 2 {
			break
		}
	}
	if len(runs) < 2 {
		t.Fatalf("fewer than two scheduled runs in 20 s\nstdout:\n%s\nstderr:\n%s", out.String(), errs.String())
	}
	if runs[0][3] > runs[1][2] {
		t.Errorf("runs overlap: run %s ended %s, run %s started %s", runs[0][1], runs[0][3], runs[1][1], runs[1][2])
	}
	if err := d.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("daemon exit: %v\n%s", err, errs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the daemon did not stop within 15 s of SIGTERM")
	}
	if !strings.Contains(out.String(), "stopped") {
		t.Errorf("stdout: %s", out.String())
	}
	log := errs.String()
	for _, want := range []string{"daemon started", "stage started", "stage=deliver", "run=1", "daemon stopped"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log has no %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "110105198001010016") || strings.Contains(log, "6210670000000000016") {
		t.Error("the log holds personal numbers")
	}
}

// TestDaemonBacksUp: with [backup] folder set, the daemon copies the
// database there after each night, keeps the newest [backup] keep of its
// copies and removes only its own older ones; status names the newest, and
// that copy, put back, verifies and runs the next night.
func TestDaemonBacksUp(t *testing.T) {
	cfg := testConfig + "[approval]\nrequired = false\n[schedule]\ncron = \"*/2 * * * * *\"\n[backup]\nfolder = \"backups\"\nkeep = 2\n"
	w := workdirWith(t, cfg)
	w.ok("init")
	w.dropNight1(t)
	if out := w.ok("status"); !strings.Contains(out, "no copy of the database in "+w.path("backups")+" yet (zhutui daemon makes one after each night)") {
		t.Errorf("status before any copy:\n%s", out)
	}
	// Another database's copy, a copy half-named and a file of the
	// operators': none is zhutui.db's copy, so none is removed.
	others := []string{"notes.txt", "other-20140101-000000.db", "zhutui-20140101-000000.db.part", "zhutui-2014-01-01.db"}
	if err := os.MkdirAll(w.path("backups"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range others {
		if err := os.WriteFile(w.path("backups", name), []byte("kept\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	d, out, errs := startDaemon(t, w, nil, "-v")
	waitForLog(t, errs, "three copies made", func(log string) bool { return strings.Count(log, "database backed up") >= 3 })
	// The daemon keeps the database open between nights: no restore under it.
	some, _ := filepath.Glob(w.path("backups/zhutui-2*.db"))
	if _, rerrs, code := w.zhutui("restore", some[len(some)-1]); code != 1 || !strings.Contains(rerrs, fmt.Sprintf("is open in process %d (", d.Process.Pid)) {
		t.Errorf("restore while the daemon runs: exit %d, %s", code, rerrs)
	}
	if err := d.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := d.Wait(); err != nil {
		t.Fatalf("daemon exit: %v\n%s", err, errs.String())
	}
	if !strings.Contains(out.String(), "zhutui daemon: the database copied to "+w.path("backups")+" after each night, the newest 2 kept\n") {
		t.Errorf("the daemon does not say where it copies the database:\n%s", out.String())
	}
	if n := strings.Count(errs.String(), "old_copies_removed=1"); n < 1 {
		t.Errorf("no old copy removed in three copies kept two:\n%s", errs.String())
	}
	entries, err := os.ReadDir(w.path("backups"))
	if err != nil {
		t.Fatal(err)
	}
	var copies, rest []string
	for _, e := range entries {
		if regexp.MustCompile(`^zhutui-\d{8}-\d{6}\.db$`).MatchString(e.Name()) {
			copies = append(copies, e.Name())
			if fi, err := e.Info(); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("copy %s: %v, %v; want mode 0600", e.Name(), fi, err)
			}
		} else {
			rest = append(rest, e.Name())
		}
	}
	slices.Sort(others)
	if len(copies) != 2 || !slices.Equal(rest, others) {
		t.Fatalf("the backup folder holds copies %v and others %v; want 2 copies and %v", copies, rest, others)
	}
	if fi, err := os.Stat(w.path("backups")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("the backup folder: %v, %v; want mode 0700", fi, err)
	}
	newest := w.path("backups", copies[1])
	if st := w.ok("status"); !strings.Contains(st, "the newest copy of the database: "+newest+" (2 copies kept there; zhutui daemon keeps 2)") {
		t.Errorf("status does not name the newest copy %s:\n%s", newest, st)
	}
	// Put back, the newest copy holds the nights: the ledger verifies,
	// the anchor accepts it, and the next night delivers nothing again.
	copyFile(t, newest, w.path("zhutui.db"))
	os.Remove(w.path("zhutui.db-wal"))
	os.Remove(w.path("zhutui.db-shm"))
	w.ledgerVerifies(t)
	if out := w.ok("run"); strings.Contains(out, "delivered") {
		t.Errorf("the night after, on the copy, delivered again:\n%s", out)
	}
	if out := w.ok("status", "--check"); !strings.HasSuffix(out, "\nnothing needs attention\n") {
		t.Errorf("status --check with a copy after the last nightly run:\n%s", out)
	}
	// With the copies gone (as when the copy after a night fails), status
	// --check says the last nightly run has none since.
	for _, c := range copies {
		os.Remove(w.path("backups", c))
	}
	if out, _, code := w.zhutui("status", "--check"); code != 1 ||
		!regexp.MustCompile(`\n  - no copy of the database in \S+, though nightly run \d+ finished \(the daemon's log says why\)\n$`).MatchString(out) {
		t.Errorf("status --check with no copy after the nightly runs: exit %d\n%s", code, out)
	}
	if err := os.WriteFile(w.path("backups", "zhutui-20140101-000000.db"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, _, code := w.zhutui("status", "--check"); code != 1 || !strings.Contains(out, "    it is older than nightly run ") ||
		!regexp.MustCompile(`\n  - no copy of the database since nightly run \d+: the newest, zhutui-20140101-000000.db, is older`).MatchString(out) {
		t.Errorf("status --check with an old copy only: exit %d\n%s", code, out)
	}
}

// TestDaemonBackupFails: a copy that cannot be made (the backup folder is
// a file) is logged as BACKUP FAILED, and the night it follows still
// succeeds; status says the copies cannot be listed.
func TestDaemonBackupFails(t *testing.T) {
	w := workdirWith(t, testConfig+"[schedule]\ncron = \"*/2 * * * * *\"\n[backup]\nfolder = \"backups\"\n")
	w.ok("init")
	w.dropNight1(t)
	if err := os.WriteFile(w.path("backups"), []byte("not a folder\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d, _, errs := startDaemon(t, w, nil)
	waitForLog(t, errs, "BACKUP FAILED", func(log string) bool { return strings.Contains(log, "BACKUP FAILED") })
	d.Process.Signal(syscall.SIGTERM)
	d.Wait()
	if log := errs.String(); !strings.Contains(log, "the newest copy of the database is older than this night's work") ||
		!strings.Contains(log, w.path("backups")) {
		t.Errorf("the failed copy's log line does not say what it means and where:\n%s", log)
	}
	st := w.ok("status")
	if !regexp.MustCompile(`(?m)^run 1\s+\S+\s+schedule\s+succeeded `).MatchString(st) ||
		!strings.Contains(st, "the copies of the database cannot be listed: ") {
		t.Errorf("status after a night whose copy failed:\n%s", st)
	}
}

// TestJSONLog checks that --log-format json gives one JSON object per line,
// each stage line carrying the run id.
func TestJSONLog(t *testing.T) {
	w := newWorkdir(t)
	w.ok("init")
	copyFile(t, filepath.Join(samples, "night1/registrations.csv"), w.path("inbox/registrations/night1.csv"))
	_, errs, code := w.zhutui("--log-format", "json", "-v", "run", "--as-of", "2014-02-01")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	stages := 0
	for _, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
		if rec["msg"] == "stage finished" {
			stages++
			if rec["run"] != float64(1) {
				t.Errorf("stage line without the run id: %q", l)
			}
		}
	}
	if stages != 7 {
		t.Errorf("%d stage lines, want 7:\n%s", stages, errs)
	}
	if _, errs, code := w.zhutui("--log-format", "xml", "status"); code != 2 || !strings.Contains(errs, "xml") {
		t.Errorf("bad log format: exit %d, %q", code, errs)
	}
}

// TestDaemonVerifiesTheLedger: the daemon verifies the whole ledger on its
// own schedule. Once an entry already verified by a report is changed behind
// zhutui's back, the daemon says so, and the next report is NOT RECONCILED,
// so no money moves.
func TestDaemonVerifiesTheLedger(t *testing.T) {
	cfg := testConfig + "[schedule]\ncron = \"0 0 1 1 *\"\nverify_cron = \"* * * * * *\"\n"
	w := workdirWith(t, cfg)
	w.ok("init")
	w.dropNight1(t)
	w.ok("run", "--as-of", "2014-02-01") // its report verifies every entry
	d, _, errs := startDaemon(t, w, nil, "-v")
	waitForLine := func(what string) {
		t.Helper()
		waitForLog(t, errs, strconv.Quote(what), func(log string) bool { return strings.Contains(log, what) })
	}
	waitForLine("ledger verified")
	if _, err := w.sql(`DROP TRIGGER ledger_entries_no_update; UPDATE ledger_entries SET amount_fen = amount_fen + 1 WHERE seq = 3`); err != nil {
		t.Fatalf("tamper: %v", err)
	}
	waitForLine("THE LEDGER DOES NOT VERIFY")
	if !strings.Contains(errs.String(), "first_bad_entry=3") {
		t.Errorf("the log does not name entry 3:\n%s", errs.String())
	}
	d.Process.Signal(syscall.SIGTERM)
	d.Wait()
	if out := w.ok("report"); !strings.Contains(out, "verdict: NOT RECONCILED: 1 problem: ledger entry 3") {
		t.Errorf("the report after the daemon found the bad entry: %s", out)
	}
}

// startDaemon starts zhutui daemon in w, with global flags args and the
// environment variables env added to w's; it is killed when the test ends.
// Its output can be read while it runs.
func startDaemon(t *testing.T, w *workdir, env []string, args ...string) (d *exec.Cmd, out, errs *syncBuffer) {
	t.Helper()
	d = exec.Command(binary, append(args, "daemon")...)
	d.Dir, d.Env = w.dir, append(slices.Clone(w.env), env...)
	out, errs = &syncBuffer{}, &syncBuffer{}
	d.Stdout, d.Stderr = out, errs
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Process.Kill() })
	return d, out, errs
}

// waitForLog waits up to 15 s for the daemon's log to satisfy ok, and fails
// the test, showing the log, if it does not; what says what was awaited.
func waitForLog(t *testing.T, errs *syncBuffer, what string, ok func(log string) bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !ok(errs.String()); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the daemon's log has no %s in 15 s:\n%s", what, errs.String())
		}
	}
}

// syncBuffer is a bytes.Buffer a child process writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDaemonReadsTheConfigurationEachNight: each scheduled night runs with
// what the configuration says when it starts, not what it said when the
// daemon started: approval turned on holds that night's batch. A
// configuration that no longer loads fails the night; a changed schedule
// takes a restart, and the log says so.
func TestDaemonReadsTheConfigurationEachNight(t *testing.T) {
	w := workdirWith(t, testConfig+"[approval]\nrequired = false\n[schedule]\ncron = \"*/2 * * * * *\"\n")
	w.ok("init")
	d, _, errs := startDaemon(t, w, nil, "-v")
	waitForLog(t, errs, "a scheduled run", func(log string) bool { return strings.Contains(log, "scheduled run finished") })

	w.editConfig(t, "required = false", "required = true")
	w.dropNight1(t)
	var list string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if list = w.ok("batch", "list"); strings.Contains(list, "B") {
			break
		}
	}
	if !regexp.MustCompile(`(?m)^B\d{10} +AWAITING_APPROVAL +11 `).MatchString(list) {
		t.Fatalf("the night after approval was turned on made:\n%s\nlog:\n%s", list, errs.String())
	}
	if payments, _ := filepath.Glob(w.path("outbox/payments/*")); len(payments) != 0 {
		t.Errorf("delivered without approval: %v", payments)
	}

	w.editConfig(t, "[approval]", "[approval\n")
	waitForLog(t, errs, "a night failed for its configuration", func(log string) bool {
		return strings.Contains(log, "scheduled run failed") && strings.Contains(log, "the configuration, read again for tonight's run")
	})
	w.editConfig(t, "[approval\n", "[approval]")
	w.editConfig(t, `cron = "*/2 * * * * *"`, `cron = "*/3 * * * * *"`+"\n[ledger]\nkey_file = \"other.key\"")
	waitForLog(t, errs, "the schedule's and the key file's change", func(log string) bool {
		return strings.Contains(log, "[schedule] changed since the daemon started: restart it") &&
			strings.Contains(log, "[ledger] key_file changed since the daemon started: it goes on with the key it read then")
	})
	d.Process.Signal(syscall.SIGTERM)
	d.Wait()
}

// TestDaemonSchedule: the schedule is read in its time zone, not the
// machine's (here New York's), a cron expression of six fields has seconds
// first, and verify_cron = "off" schedules no verification.
func TestDaemonSchedule(t *testing.T) {
	cfg := testConfig + "[schedule]\ncron = \"0 30 2 * * *\"\ntime_zone = \"Asia/Shanghai\"\nverify_cron = \"off\"\n"
	w := workdirWith(t, cfg)
	w.ok("init")
	d, out, errs := startDaemon(t, w, []string{"TZ=America/New_York"})
	exited := make(chan error, 1)
	go func() { exited <- d.Wait() }()
	started := regexp.MustCompile(`zhutui daemon: schedule "0 30 2 \* \* \*" \(Asia/Shanghai\); next run \d{4}-\d\d-\d\d (\S+); the whole ledger verified "off"`)
	var m []string
	for deadline := time.Now().Add(15 * time.Second); m == nil && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-exited:
			t.Fatalf("the daemon exited (%v)\nstdout:\n%s\nstderr:\n%s", err, out.String(), errs.String())
		default:
		}
		m = started.FindStringSubmatch(out.String())
	}
	if m == nil {
		t.Fatalf("the daemon did not say it started on its schedule in 15 s\nstdout:\n%s\nstderr:\n%s", out.String(), errs.String())
	}
	if m[1] != "02:30:00" {
		t.Errorf("next run at %s Beijing time, want 02:30:00", m[1])
	}
	d.Process.Signal(syscall.SIGTERM)
	if err := <-exited; err != nil {
		t.Errorf("daemon exit: %v\n%s", err, errs.String())
	}
}

// TestDaemonSkipsWhileBusy: a scheduled run that finds the run lease held (a
// night, or an ingest, by another zhutui) is skipped and says by whom; it is
// not a failure.
func TestDaemonSkipsWhileBusy(t *testing.T) {
	w := workdirWith(t, testConfig+"[schedule]\ncron = \"* * * * * *\"\n")
	w.ok("init")
	st, err := sqlite.Open(context.Background(), w.path("zhutui.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	lease, err := st.AcquireLease(context.Background(), pipeline.Holder{User: "li", Host: "elsewhere", PID: 7, Command: "ingest"})
	if err != nil {
		t.Fatal(err)
	}
	defer lease.Release()
	d, _, errs := startDaemon(t, w, nil)
	ran := regexp.MustCompile(`scheduled run (skipped|failed)`)
	waitForLog(t, errs, "scheduled run", ran.MatchString)
	d.Process.Signal(syscall.SIGTERM)
	d.Wait()
	log := errs.String()
	if !strings.Contains(log, "li@elsewhere pid 7") || strings.Contains(log, "scheduled run failed") {
		t.Errorf("the log does not say the run was skipped for li@elsewhere's ingest alone:\n%s", log)
	}
}

// TestDaemonTakesTurns: the nightly run and the ledger's verification take
// turns. A night held at a stage for longer than the verification's
// one-second schedule sees no verification finish while it runs; the
// verification runs again once the night is over.
func TestDaemonTakesTurns(t *testing.T) {
	cfg := testConfig + "[schedule]\ncron = \"* * * * * *\"\nverify_cron = \"* * * * * *\"\n"
	w := workdirWith(t, cfg)
	w.ok("init")
	w.dropNight1(t)
	w.ok("run", "--as-of", "2014-02-01") // entries for the verification to read
	d, _, errs := startDaemon(t, w, []string{"ZHUTUI_PAUSE_AT=stage:reconcile:before", "ZHUTUI_PAUSE_FILE=" + w.path("go")}, "-v")
	waitFor(t, w.path("go.waiting"))
	time.Sleep(2500 * time.Millisecond) // two or three verifications would have run meanwhile
	w.goOn()
	waitForLog(t, errs, "night and verification after it", func(log string) bool {
		_, after, ok := strings.Cut(log, "scheduled run finished")
		return ok && strings.Contains(after, "ledger verified")
	})
	d.Process.Signal(syscall.SIGTERM)
	d.Wait()
	// The log is one stream, in the order it was written: between a night's
	// start and its end no verification may have finished.
	log := errs.String()
	nights := 0
	for rest := log; ; {
		start := strings.Index(rest, "scheduled run starting")
		if start < 0 {
			break
		}
		end := strings.Index(rest[start:], "scheduled run finished")
		if end < 0 {
			break // the last night, cut by SIGTERM
		}
		if during := rest[start : start+end]; strings.Contains(during, "ledger verified") {
			t.Errorf("the ledger was verified during a night:\n%s", during)
		}
		nights++
		rest = rest[start+end+1:]
	}
	if nights == 0 {
		t.Fatalf("no whole night in the log:\n%s", log)
	}
}
