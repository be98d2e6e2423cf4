package main_test

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"zhutui/fixtures/bank"
)

// crashConfig delivers without waiting for approval, so that one run goes
// from the input files to the payment file.
const crashConfig = testConfig + `[approval]
required = false
`

// night1Workdir is an initialised work folder with crashConfig and the
// first night's fixture files in its inbound folders.
func night1Workdir(t *testing.T) *workdir {
	t.Helper()
	w := workdirWith(t, crashConfig)
	w.ok("init")
	w.dropNight1(t)
	return w
}

// awaitingApproval is an initialised work folder (approval required) whose
// first night took the fixtures and made batch B2014020101, awaiting
// approval.
func awaitingApproval(t *testing.T) *workdir {
	t.Helper()
	w := newWorkdir(t)
	w.ok("init")
	w.dropNight1(t)
	w.ok("run", "--as-of", "2014-02-01")
	return w
}

// nightState is what a finished scenario leaves: every file delivered, byte
// for byte, and the last registrations.csv and exceptions.csv.
type nightState map[string][]byte

// scenario runs two nights: night 1 takes the fixtures and delivers the
// payment file; the bank returns two payments; night 2 settles and sends the
// SMS batch. crashAt, when set, kills the binary at that point of night
// `night`; the cut run is then finished by `zhutui rerun` (or, with
// nextRun, by the next `zhutui run`). crashAt may name more points, joined
// by " then ": the run is killed at the first, a rerun of it at each next
// one, and the last rerun (or run) finishes it.
func scenario(t *testing.T, crashAt string, night int, nextRun bool) nightState {
	w := night1Workdir(t)
	runNight := func(n int, asOf string) {
		if crashAt == "" || n != night {
			w.ok("run", "--as-of", asOf)
			return
		}
		points := strings.Split(crashAt, " then ")
		w.killedAt(t, points[0], "run", "--as-of", asOf)
		// The operator's first look: the run was cut off, not "working now".
		last := lastRunID(t, w)
		for _, again := range points[1:] {
			w.killedAt(t, again, "rerun", strconv.Itoa(last))
		}
		if st := w.ok("status"); strings.Contains(st, "working now") ||
			!strings.Contains(st, fmt.Sprintf("finish it with: zhutui rerun %d", last)) {
			t.Fatalf("crash at %s: zhutui status does not say run %d was cut off:\n%s", crashAt, last, st)
		}
		if nextRun {
			w.ok("run", "--as-of", asOf)
			return
		}
		out := w.ok("rerun", strconv.Itoa(last))
		if !strings.Contains(out, fmt.Sprintf("run %d", last)) {
			t.Fatalf("rerun said %q", out)
		}
	}
	runNight(1, "2014-02-01")
	pay, err := os.ReadFile(w.path("outbox/payments/ZTPAY_B2014020101.txt"))
	if err != nil {
		t.Fatalf("crash at %s: no payment file after night 1: %v", crashAt, err)
	}
	name, res, err := bank.Answer(pay, map[string]bank.Failure{"R001-1": bank.AccountClosed, "R028-1": bank.NameMismatch})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.path("inbox/results", name), res, 0o644); err != nil {
		t.Fatal(err)
	}
	runNight(2, "2014-02-02")
	w.ledgerVerifies(t)
	state := nightState{}
	for _, dir := range []string{"outbox/payments", "outbox/sms"} {
		entries, _ := os.ReadDir(w.path(dir))
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") {
				continue // an upload's temporary file: nobody takes it
			}
			state[dir+"/"+e.Name()] = w.read(dir, e.Name())
		}
	}
	for _, name := range []string{"registrations.csv", "exceptions.csv"} {
		state[name] = w.read("reports", fmt.Sprintf("run-%d", lastRunID(t, w)), name)
	}
	return state
}

var runLine = regexp.MustCompile(`(?m)^run (\d+) `)

func lastRunID(t *testing.T, w *workdir) int {
	t.Helper()
	out := w.ok("status")
	ids := runLine.FindAllStringSubmatch(out, -1)
	if len(ids) == 0 {
		t.Fatalf("status shows no run:\n%s", out)
	}
	n, _ := strconv.Atoi(ids[len(ids)-1][1])
	return n
}

// TestCrashAnywhere kills the binary (SIGKILL) at every stage boundary and in
// the middle of the ingest, judge, ledger and upload steps, finishes the cut run,
// and compares the end state with that of an uninterrupted run.
func TestCrashAnywhere(t *testing.T) {
	want := scenario(t, "", 0, false)
	if len(want) != 5 { // payment file, sidecar, SMS batch, registrations.csv, exceptions.csv
		t.Fatalf("reference state has %d files: %v", len(want), keys(want))
	}
	type point struct {
		at    string
		night int
	}
	var points []point
	for _, stage := range []string{"collect", "reconcile", "batch", "deliver", "settle", "notify", "report"} {
		points = append(points, point{"stage:" + stage + ":before", 1}, point{"stage:" + stage + ":after", 1})
	}
	points = append(points,
		point{"ingest:row#10", 1},          // inside the certificate feed's transaction
		point{"ingest:row#45", 1},          // inside the registration export's
		point{"judge:chunk#1", 1},          // decisions written, judged on a second connection
		point{"ledger:post#5", 1},          // deciding payable
		point{"ledger:post#15", 1},         // batching
		point{"ledger:post#25", 1},         // marking the batch sent
		point{"upload:before-rename#1", 1}, // the payment file written, not yet in place
		point{"upload:before-rename#2", 1}, // the sidecar
		point{"deliver:put#1", 1},          // the payment file in place, not the sidecar
		point{"deliver:put#2", 1},          // both in place, the batch not yet marked sent
		point{"ledger:post#3", 2},          // settling
		point{"stage:settle:after", 2},     //
		point{"upload:before-rename#1", 2}, // the SMS batch
		point{"notify:begin", 2},           // the SMS batch staged, its delivery not yet begun
		point{"notify:put", 2},             // the SMS batch in place, not yet recorded
		point{"stage:notify:before", 2},    //
		// The report's state, merged on night 2: one file in place, then
		// both, not yet recorded.
		point{"report:state-registrations", 2},
		point{"report:state-exceptions", 2},
		// Cut off again while it is being finished.
		point{"ledger:post#15 then ledger:post#5", 1},                  // batching, twice
		point{"deliver:put#1 then deliver:put#2", 1},                   // the payment file, then both files, in place
		point{"upload:before-rename#2 then upload:before-rename#1", 1}, // the sidecar, then the payment file again
		point{"stage:deliver:after then stage:report:before", 1},
		point{"notify:put then notify:put", 2},               // the SMS batch in place, twice
		point{"notify:begin then upload:before-rename#1", 2}, // staged, then staged again and begun
		point{"ledger:post#3 then stage:settle:after", 2},
		point{"report:state-registrations then report:state-exceptions", 2},
	)
	for i, p := range points {
		p, nextRun := p, i%3 == 2 // every third one is finished by the next run instead of a rerun
		t.Run(fmt.Sprintf("%s/night%d", p.at, p.night), func(t *testing.T) {
			t.Parallel()
			got := scenario(t, p.at, p.night, nextRun)
			if !sameKeys(got, want) {
				t.Fatalf("files %v, want %v", keys(got), keys(want))
			}
			for k, v := range want {
				if !bytes.Equal(got[k], v) {
					t.Errorf("%s differs from the uninterrupted run's", k)
				}
			}
		})
	}
}

func keys(m nightState) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func sameKeys(a, b nightState) bool { return strings.Join(keys(a), ",") == strings.Join(keys(b), ",") }

// TestOneRunAtATime starts two runs together: one works, the other exits 1
// naming the holder; a report asked for meanwhile does the same.
func TestOneRunAtATime(t *testing.T) {
	w := newWorkdir(t)
	w.ok("init")
	copyFile(t, filepath.Join(samples, "night1/registrations.csv"), w.path("inbox/registrations/night1.csv"))
	// The first run pauses inside its collect stage.
	first, firstOut := w.pausedAt(t, "stage:collect:before", "run", "--as-of", "2014-02-01")
	_, errs, code := w.zhutui("run", "--as-of", "2014-02-01")
	if code != 1 || !strings.Contains(errs, "another zhutui is working on this database") ||
		!strings.Contains(errs, fmt.Sprintf("pid %d", first.Process.Pid)) {
		t.Errorf("second run: exit %d, %q", code, errs)
	}
	if _, errs, code := w.zhutui("report"); code != 1 || !strings.Contains(errs, "another zhutui is working on this database") {
		t.Errorf("report during the run: exit %d, %q", code, errs)
	}
	w.goOn() // let the first one go on
	if err := first.Wait(); err != nil {
		t.Fatalf("first run: %v\n%s", err, firstOut.String())
	}
	w.ok("run", "--as-of", "2014-02-02") // the lease was released
	w.ok("report")
}

// pausedAt starts zhutui with args, held at the crash point point by
// $ZHUTUI_PAUSE_AT, and returns once it waits there (goOn lets it go on),
// with its combined output.
func (w *workdir) pausedAt(t *testing.T, point string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = w.dir
	cmd.Env = append(w.env, "ZHUTUI_PAUSE_AT="+point, "ZHUTUI_PAUSE_FILE="+w.path("go"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, w.path("go.waiting"))
	return cmd, &out
}

// goOn lets the zhutui that pausedAt holds go on.
func (w *workdir) goOn() { os.WriteFile(w.path("go"), nil, 0o644) }

// killedAt runs zhutui with args, killed (SIGKILL) at the crash point point,
// and fails the test unless it was.
func (w *workdir) killedAt(t *testing.T, point string, args ...string) {
	t.Helper()
	w.env = append(w.env, "ZHUTUI_CRASH_AT="+point)
	out, errs, code := w.zhutui(args...)
	w.env = w.env[:len(w.env)-1]
	if code != -1 {
		t.Fatalf("zhutui %s was not killed at %s (exit %d)\n%s\n%s", strings.Join(args, " "), point, code, out, errs)
	}
}

// ledgerVerifies fails the test unless zhutui ledger verify passes.
func (w *workdir) ledgerVerifies(t *testing.T) {
	t.Helper()
	if out := w.ok("ledger", "verify"); !strings.Contains(out, "verified") {
		t.Fatalf("ledger: %s", out)
	}
}

func waitFor(t *testing.T, path string) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s did not appear", path)
}

// TestNoRejectOnceDeliveryBegan: a run killed after the payment file and its
// sidecar were put at the bank but before the batch was recorded as sent
// leaves the batch APPROVED. The bank may pay that file, so the batch must
// not be rejected (its payments would go back to ELIGIBLE and be paid again
// in a new batch): reject refuses and says how to finish the run, and the
// rerun records the batch as sent without delivering other bytes.
func TestNoRejectOnceDeliveryBegan(t *testing.T) {
	w := night1Workdir(t)
	w.killedAt(t, "deliver:put#2", "run", "--as-of", "2014-02-01")
	pay := w.read("outbox/payments", "ZTPAY_B2014020101.txt")
	last := lastRunID(t, w)
	out, errs, code := w.zhutui("batch", "reject", "B2014020101", "--by", "wang", "--reason", "wrong memo")
	if code != 1 || !strings.Contains(errs, "its delivery began") ||
		!strings.Contains(errs, fmt.Sprintf("zhutui rerun %d", last)) {
		t.Fatalf("reject after the file reached the bank: exit %d\n%s\n%s", code, out, errs)
	}
	if show := w.ok("batch", "show", "B2014020101"); !strings.Contains(show, "APPROVED") || !strings.Contains(show, "delivering") {
		t.Fatalf("batch show after the refused reject:\n%s", show)
	}
	if st := w.ok("status"); !strings.Contains(st, fmt.Sprintf("its delivery began in run %d and is not recorded as done", last)) ||
		!strings.Contains(st, fmt.Sprintf("(zhutui rerun %d finishes it)", last)) {
		t.Fatalf("status does not say the batch's delivery began:\n%s", st)
	}
	w.ok("rerun", strconv.Itoa(last))
	if show := w.ok("batch", "show", "B2014020101"); !strings.Contains(show, "SENT") {
		t.Fatalf("batch show after the rerun:\n%s", show)
	}
	if got := w.read("outbox/payments", "ZTPAY_B2014020101.txt"); !bytes.Equal(got, pay) {
		t.Fatal("the rerun put other bytes under the payment file's name")
	}
	if out, errs, code := w.zhutui("batch", "reject", "B2014020101", "--by", "wang", "--reason", "wrong memo"); code != 1 ||
		!strings.Contains(errs, "only a batch not yet delivered can be rejected") {
		t.Fatalf("reject of a sent batch: exit %d\n%s\n%s", code, out, errs)
	}
}

// TestRejectDuringDeliver: an operator rejects an approved batch while the
// night's deliver stage is delivering it: its payment file is in place, its
// sidecar (which tells the bank to take it) not yet. The reject commits
// first, so the stage puts no sidecar for that batch and says so, and the
// night ends as usual.
func TestRejectDuringDeliver(t *testing.T) {
	w := awaitingApproval(t)
	w.ok("batch", "approve", "B2014020101", "--by", "finance-li")
	night, nightOut := w.pausedAt(t, "deliver:begin", "run", "--as-of", "2014-02-02")
	w.ok("batch", "reject", "B2014020101", "--by", "finance-wang", "--reason", "wrong memo")
	w.goOn() // let the night go on
	if err := night.Wait(); err != nil {
		t.Fatalf("the night: %v\n%s", err, nightOut.String())
	}
	if !strings.Contains(nightOut.String(), `msg="batch not delivered: it is no longer approved; its payment file has no sidecar, so the bank does not take it" run=2 batch=B2014020101 status=REJECTED`) {
		t.Errorf("the night does not say it skipped the rejected batch:\n%s", nightOut.String())
	}
	if _, err := os.Stat(w.path("outbox/payments/ZTPAY_B2014020101.txt.sha256")); !os.IsNotExist(err) {
		t.Errorf("the rejected batch's sidecar was put: %v", err)
	}
	if counts, err := w.sql(`SELECT counts FROM stages WHERE run_id = 2 AND stage = 'deliver'`); err != nil || strings.TrimSpace(counts) != "delivered=0 not-approved=1" {
		t.Errorf("the deliver stage's record: %q, %v", counts, err)
	}
	if show := w.ok("batch", "show", "B2014020101"); !strings.Contains(show, "REJECTED") || strings.Contains(show, "delivering") {
		t.Errorf("batch show:\n%s", show)
	}
	w.ledgerVerifies(t)
}

// TestFileLeftTheBanksFolder: a run is killed during delivery and the
// payment file then leaves the bank's folder (a bank that moves the files it
// takes). Killed after the delivery began (both files put), the file was
// probably taken, sidecar and all: the rerun puts nothing again (the bank
// would pay the batch twice), records the batch as SENT, says so, and the
// bank's result file settles it. Killed before the delivery began (no
// sidecar yet, so the bank cannot have taken it), the rerun puts both files.
func TestFileLeftTheBanksFolder(t *testing.T) {
	for _, c := range []struct {
		killAt   string
		putAgain bool
	}{{"deliver:put#2", false}, {"deliver:begin", true}} {
		t.Run(c.killAt, func(t *testing.T) {
			w := night1Workdir(t)
			w.killedAt(t, c.killAt, "run", "--as-of", "2014-02-01")
			pay := w.read("outbox/payments", "ZTPAY_B2014020101.txt")
			for _, n := range []string{"ZTPAY_B2014020101.txt", "ZTPAY_B2014020101.txt.sha256"} {
				if err := os.Remove(w.path("outbox/payments", n)); err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
			}
			_, errs, code := w.zhutui("rerun", "1")
			if code != 0 {
				t.Fatalf("rerun: exit %d\n%s", code, errs)
			}
			_, err := os.Stat(w.path("outbox/payments", "ZTPAY_B2014020101.txt.sha256"))
			if put := err == nil; put != c.putAgain {
				t.Fatalf("sidecar put again: %v, want %v (%v)\n%s", put, c.putAgain, err, errs)
			}
			warned := strings.Contains(errs, "batch recorded as sent without putting its files again: run 1 put its payment file")
			show := w.ok("batch", "show", "B2014020101")
			noted := strings.Contains(show, "not put again: run 1 put the payment file, which had left the folder")
			if warned == c.putAgain || noted == c.putAgain || !strings.Contains(show, "SENT") {
				t.Fatalf("warned %v, noted %v, want %v\nrerun:\n%s\nbatch show:\n%s", warned, noted, !c.putAgain, errs, show)
			}
			name, res, err := bank.Answer(pay, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(w.path("inbox/results", name), res, 0o644); err != nil {
				t.Fatal(err)
			}
			w.ok("run", "--as-of", "2014-02-02")
			if show := w.ok("batch", "show", "B2014020101"); !strings.Contains(show, "SETTLED") {
				t.Fatalf("after the bank's answer:\n%s", show)
			}
			w.ledgerVerifies(t)
		})
	}
}

// TestBanksFolderGone: a run is killed after a batch's delivery began, and
// then the bank's folder itself is gone (a mount that failed). The file's
// absence says nothing then: the rerun fails, naming the folder, and records
// nothing. Once the folder is back without the file (the bank took it), the
// rerun records the batch as SENT without putting anything again.
func TestBanksFolderGone(t *testing.T) {
	w := night1Workdir(t)
	w.killedAt(t, "deliver:put#2", "run", "--as-of", "2014-02-01")
	folder := w.path("outbox/payments")
	if err := os.RemoveAll(folder); err != nil {
		t.Fatal(err)
	}
	_, errs, code := w.zhutui("rerun", "1")
	if code == 0 || !strings.Contains(errs, "deliver batch B2014020101: run 1 put its payment file ZTPAY_B2014020101.txt in file://"+folder+
		", and the folder itself cannot be checked now (stat file://"+folder+": ") {
		t.Fatalf("rerun with the bank's folder gone: exit %d\n%s", code, errs)
	}
	if show := w.ok("batch", "show", "B2014020101"); strings.Contains(show, "SENT") || strings.Contains(show, "not put again") {
		t.Fatalf("the batch was recorded as sent with the bank's folder gone:\n%s", show)
	}
	if _, err := os.Stat(folder); !os.IsNotExist(err) {
		t.Fatalf("the rerun made the bank's folder or put into it: %v", err)
	}
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := w.zhutui("rerun", "1"); code != 0 || !strings.Contains(errs, "batch recorded as sent without putting its files again") {
		t.Fatalf("rerun with the folder back and the file taken: exit %d\n%s", code, errs)
	}
	if entries, err := os.ReadDir(folder); err != nil || len(entries) != 0 {
		t.Errorf("files put again: %v, %v", entries, err)
	}
	if show := w.ok("batch", "show", "B2014020101"); !strings.Contains(show, "SENT") {
		t.Errorf("batch show:\n%s", show)
	}
	w.ledgerVerifies(t)
}

// smsNight is night1Workdir after its first night and the bank's answer
// (two payments returned): the next run, on 2014-02-02, settles the batch and
// delivers the SMS batch ZTSMS_B2014020101_1.csv to outbox/sms.
func smsNight(t *testing.T) *workdir {
	t.Helper()
	w := night1Workdir(t)
	w.ok("run", "--as-of", "2014-02-01")
	name, res, err := bank.Answer(w.read("outbox/payments", "ZTPAY_B2014020101.txt"),
		map[string]bank.Failure{"R001-1": bank.AccountClosed, "R028-1": bank.NameMismatch})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.path("inbox/results", name), res, 0o644); err != nil {
		t.Fatal(err)
	}
	return w
}

const smsFile = "ZTSMS_B2014020101_1.csv"

// TestSMSFileTakenByThePlatform: the SMS platform takes the files it finds
// and may move them away. A night is killed while delivering the SMS batch,
// the platform then takes whatever file is in its folder, and the night is
// finished. A file committed into place before the kill is not put again,
// which would send its messages twice: the delivery is recorded with a
// warning and a note in the batch's history. A file the kill caught before
// its commit never reached the platform, and is put once.
func TestSMSFileTakenByThePlatform(t *testing.T) {
	for _, c := range []struct {
		killAt    string
		committed bool
	}{
		{"notify:put", true},              // committed, not yet recorded
		{"upload:before-rename#1", false}, // staged and its start recorded, not committed
		{"notify:begin", false},           // staged, its start not recorded
	} {
		t.Run(c.killAt, func(t *testing.T) {
			w := smsNight(t)
			w.killedAt(t, c.killAt, "run", "--as-of", "2014-02-02")
			if _, err := os.Stat(w.path("outbox/sms", smsFile)); (err == nil) != c.committed {
				t.Fatalf("after the kill, the SMS file in place: %v, want %v", err == nil, c.committed)
			}
			os.Remove(w.path("outbox/sms", smsFile)) // the platform takes it
			_, errs, code := w.zhutui("rerun", "2")
			if code != 0 {
				t.Fatalf("rerun: exit %d\n%s", code, errs)
			}
			_, err := os.Stat(w.path("outbox/sms", smsFile))
			if put := err == nil; put == c.committed {
				t.Fatalf("SMS file put by the rerun: %v, want %v\n%s", put, !c.committed, errs)
			}
			warned := strings.Contains(errs, "sms batch recorded as delivered without putting it again: run 2 committed it")
			noted := strings.Contains(w.ok("batch", "show", "B2014020101"), "not put again: run 2 committed the file, which had left the folder")
			if warned != c.committed || noted != c.committed {
				t.Fatalf("warned %v, noted %v, want %v\n%s", warned, noted, c.committed, errs)
			}
			// The file put by the rerun, if any, and no staged copy beside it.
			want := 1
			if c.committed {
				want = 0
			}
			if entries, _ := os.ReadDir(w.path("outbox/sms")); len(entries) != want {
				t.Errorf("outbox/sms holds %d entries, want %d (a staged copy left?)", len(entries), want)
			}
			if todo, err := w.sql(`SELECT count(*) FROM sms_files WHERE delivered_at = ''`); err != nil || todo != "0" {
				t.Errorf("SMS files left to deliver: %s, %v", todo, err)
			}
			w.ledgerVerifies(t)
		})
	}
}

// TestSMSFolderGone: a night is killed after committing the SMS file, and
// then the platform's folder itself is gone. The file's absence says nothing
// then: the rerun fails, naming the folder, and records nothing; once the
// folder is back without the file, the rerun records the delivery without
// putting the file again.
func TestSMSFolderGone(t *testing.T) {
	w := smsNight(t)
	w.killedAt(t, "notify:put", "run", "--as-of", "2014-02-02")
	folder := w.path("outbox/sms")
	if err := os.RemoveAll(folder); err != nil {
		t.Fatal(err)
	}
	_, errs, code := w.zhutui("rerun", "2")
	if code == 0 || !strings.Contains(errs, "deliver "+smsFile+": run 2 began committing it into file://"+folder+
		", and the folder itself cannot be checked now (stat file://"+folder+": ") {
		t.Fatalf("rerun with the platform's folder gone: exit %d\n%s", code, errs)
	}
	if todo, err := w.sql(`SELECT count(*) FROM sms_files WHERE delivered_at = ''`); err != nil || todo != "1" {
		t.Fatalf("SMS files left to deliver: %s, %v; want the one", todo, err)
	}
	if _, err := os.Stat(folder); !os.IsNotExist(err) {
		t.Fatalf("the rerun made the platform's folder or put into it: %v", err)
	}
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := w.zhutui("rerun", "2"); code != 0 || !strings.Contains(errs, "sms batch recorded as delivered without putting it again") {
		t.Fatalf("rerun with the folder back and the file taken: exit %d\n%s", code, errs)
	}
	if entries, err := os.ReadDir(folder); err != nil || len(entries) != 0 {
		t.Errorf("files put again: %v, %v", entries, err)
	}
}

// TestClashAtTheRename: someone puts a file under the payment file's name
// while zhutui's checked copy waits to be linked into place (see
// clashAtTheRename); the batch is not recorded as sent.
func TestClashAtTheRename(t *testing.T) {
	w := night1Workdir(t)
	clashAtTheRename(t, w, w.path("outbox/payments"), "run", "--as-of", "2014-02-01")
	if show := w.ok("batch", "show", "B2014020101"); strings.Contains(show, "SENT") {
		t.Errorf("the batch was recorded as sent:\n%s", show)
	}
}

// clashAtTheRename runs zhutui with args, held at the upload:before-rename
// point of its first upload, the payment file of B2014020101 to folder (the
// bank's, seen locally), and puts another file under that name meanwhile.
// The night must fail with the clash, leave the other file as it was, and
// leave nothing else in the folder (no sidecar, no temporary copy).
func clashAtTheRename(t *testing.T, w *workdir, folder string, args ...string) {
	t.Helper()
	night, out := w.pausedAt(t, "upload:before-rename", args...)
	final := filepath.Join(folder, "ZTPAY_B2014020101.txt")
	other := []byte("H|someone else's file\r\n")
	if err := os.WriteFile(final, other, 0o644); err != nil {
		t.Fatal(err)
	}
	w.goOn()
	if err := night.Wait(); err == nil || !regexp.MustCompile(`deliver batch B2014020101: [^\n]*ZTPAY_B2014020101\.txt[^\n]*: `+
		`a file of that name with other content is already there`).MatchString(out.String()) {
		t.Fatalf("the night with its payment file's name taken meanwhile: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(final); !bytes.Equal(got, other) {
		t.Errorf("the other file was overwritten: %q", got)
	}
	if entries, err := os.ReadDir(folder); err != nil || len(entries) != 1 {
		t.Errorf("the bank's folder holds %v, %v; want the other file alone (no sidecar, no temporary copy)", entries, err)
	}
}

// TestStatusWhileDelivering: between a batch's sidecar and its record as
// sent, zhutui status says the working run is delivering it (not that a
// rerun should finish it, as it says once that run is cut off).
func TestStatusWhileDelivering(t *testing.T) {
	w := night1Workdir(t)
	night, nightOut := w.pausedAt(t, "deliver:put#2", "run", "--as-of", "2014-02-01")
	st := w.ok("status")
	w.goOn()
	if err := night.Wait(); err != nil {
		t.Fatalf("the night: %v\n%s", err, nightOut.String())
	}
	if !strings.Contains(st, "working now") || !strings.Contains(st, "run 1 is delivering it now") ||
		strings.Contains(st, "zhutui rerun") {
		t.Errorf("status while run 1 delivers B2014020101:\n%s", st)
	}
}

// TestRejectBeforeSidecar: a run killed after the payment file was put but
// before its sidecar leaves the batch rejectable: the bank takes a file only
// once its sidecar is there (§4.1). After the reject the next night pays the
// same payments once, in a new batch with a sidecar; the first file stays
// without one.
func TestRejectBeforeSidecar(t *testing.T) {
	w := night1Workdir(t)
	w.killedAt(t, "deliver:put#1", "run", "--as-of", "2014-02-01")
	w.ok("batch", "reject", "B2014020101", "--by", "finance-wang", "--reason", "wrong memo")
	w.ok("run", "--as-of", "2014-02-02")
	entries, err := os.ReadDir(w.path("outbox/payments"))
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			files = append(files, e.Name())
		}
	}
	want := []string{"ZTPAY_B2014020101.txt", "ZTPAY_B2014020201.txt", "ZTPAY_B2014020201.txt.sha256"}
	if strings.Join(files, " ") != strings.Join(want, " ") {
		t.Fatalf("at the bank: %v, want %v", files, want)
	}
	if show := w.ok("batch", "show", "B2014020201"); !strings.Contains(show, "11 lines, 19000.00 yuan") || !strings.Contains(show, "SENT") {
		t.Fatalf("the new batch:\n%s", show)
	}
	w.ledgerVerifies(t)
}

// answeredBeforeRecorded kills the first night after its batch's sidecar
// was put and before the batch was recorded as sent, and has the bank answer
// the payment file into the results folder. It returns the work folder, the
// killed run and the result file's name.
func answeredBeforeRecorded(t *testing.T) (*workdir, int, string) {
	t.Helper()
	w := night1Workdir(t)
	w.killedAt(t, "deliver:put#2", "run", "--as-of", "2014-02-01")
	last := lastRunID(t, w)
	name, res, err := bank.Answer(w.read("outbox/payments", "ZTPAY_B2014020101.txt"), map[string]bank.Failure{"R001-1": bank.AccountClosed})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.path("inbox/results", name), res, 0o644); err != nil {
		t.Fatal(err)
	}
	return w, last, name
}

// TestResultBeforeDeliveryRecorded: the bank answers a payment file that
// reached it in a run killed before the batch was recorded as sent, and an
// operator takes the answer by hand before finishing that run. The file is
// refused with nothing recorded (not quarantined, which would refuse the same
// bytes for ever), and the rerun delivers nothing new, records the batch as
// sent and then settles it from the same file.
func TestResultBeforeDeliveryRecorded(t *testing.T) {
	w, last, name := answeredBeforeRecorded(t)
	out, errs, code := w.zhutui("ingest", "results", w.path("inbox/results", name))
	if code != 1 || !strings.Contains(errs, "whose delivery began in run") || !strings.Contains(errs, fmt.Sprintf("zhutui rerun %d", last)) {
		t.Fatalf("ingest of the answer before the batch was recorded as sent: exit %d\n%s\n%s", code, out, errs)
	}
	if st := w.ok("status"); strings.Contains(st, "quarantined") {
		t.Fatalf("the answer was quarantined:\n%s", st)
	}
	w.ok("rerun", strconv.Itoa(last))
	if show := w.ok("batch", "show", "B2014020101"); !strings.Contains(show, "SETTLED") {
		t.Fatalf("batch show after the rerun:\n%s", show)
	}
	// The same answer taken by hand from elsewhere (a copy mailed to the
	// operator) changes nothing and is no alarm: not quarantined.
	copied := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(copied, w.read("inbox/results", name), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := w.ok("ingest", "results", copied); !strings.Contains(out, ": 0 applied, 11 unchanged, 0 rejected") {
		t.Fatalf("the same answer again, from another folder:\n%s", out)
	}
	if st := w.ok("status"); strings.Contains(st, "quarantined") {
		t.Fatalf("the same answer again was quarantined:\n%s", st)
	}
	w.ledgerVerifies(t)
}

// TestResultWhileMoneyHeld: as above, but the run that would finish the
// delivery holds money (the ledger does not verify), so its deliver stage
// does nothing and its settle stage meets the bank's answer. The file is
// refused with nothing recorded, and the message says why rerunning does not
// help until the books agree; once they do, the rerun delivers and settles.
func TestResultWhileMoneyHeld(t *testing.T) {
	w, last, _ := answeredBeforeRecorded(t)
	memo, err := w.sql(`SELECT memo FROM ledger_entries WHERE seq = (SELECT max(seq) FROM ledger_entries)`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.sql(`DROP TRIGGER ledger_entries_no_update;
		UPDATE ledger_entries SET memo = 'changed' WHERE seq = (SELECT max(seq) FROM ledger_entries)`); err != nil {
		t.Fatal(err)
	}
	if _, _, code := w.zhutui("ledger", "verify"); code != 1 {
		t.Fatalf("ledger verify of a changed entry: exit %d", code)
	}
	_, errs, code := w.zhutui("rerun", strconv.Itoa(last))
	if code != 1 || !strings.Contains(errs, "whose delivery began in run "+strconv.Itoa(last)) ||
		!strings.Contains(errs, "(this run could not: no money moves while the books do not agree: ledger entry") ||
		!strings.Contains(errs, fmt.Sprintf("once the books agree, zhutui rerun %d)", last)) {
		t.Fatalf("a rerun holding money meets the answer: exit %d\n%s", code, errs)
	}
	if n, err := w.sql(`SELECT count(*) FROM files WHERE kind = 'results'`); err != nil || strings.TrimSpace(n) != "0" {
		t.Fatalf("the answer was recorded (%s files, %v): it must wait for the delivery", n, err)
	}
	// Mended (the memo put back) and verified: the rerun delivers and settles.
	if _, err := w.sql(`UPDATE ledger_entries SET memo = '` + strings.TrimSpace(memo) + `' WHERE seq = (SELECT max(seq) FROM ledger_entries)`); err != nil {
		t.Fatal(err)
	}
	w.ok("ledger", "verify")
	w.ok("rerun", strconv.Itoa(last))
	if show := w.ok("batch", "show", "B2014020101"); !strings.Contains(show, "SETTLED") {
		t.Fatalf("batch show after the rerun:\n%s", show)
	}
	w.ledgerVerifies(t)
}

// TestReadWhileANightWrites: while a night holds the database's write lock
// (here, inside the transaction that takes a registration export), the
// commands that only read answer at once: status names the night's holder,
// batch list and show print the batches; a second run or a report is refused
// naming the holder. Opening the database takes no write lock when it has no
// migration to apply and its ledger key check is recorded.
func TestReadWhileANightWrites(t *testing.T) {
	w := awaitingApproval(t)
	copyFile(t, filepath.Join(samples, "night2/registrations.csv"), w.path("inbox/registrations/night2.csv"))
	night, nightOut := w.pausedAt(t, "ingest:row", "run", "--as-of", "2014-02-02")
	// Each would fail with "database is locked" after the busy timeout if it
	// waited for the night's lock.
	if st := w.ok("status"); !strings.Contains(st, "working now") || !strings.Contains(st, fmt.Sprintf("pid %d", night.Process.Pid)) {
		t.Errorf("status while a night writes:\n%s", st)
	}
	if out := w.ok("batch", "list"); !strings.Contains(out, "B2014020101") {
		t.Errorf("batch list while a night writes:\n%s", out)
	}
	if out := w.ok("batch", "show", "B2014020101"); !strings.Contains(out, "AWAITING_APPROVAL") {
		t.Errorf("batch show while a night writes:\n%s", out)
	}
	// A second run, or a report, is refused at once, naming the holder.
	for _, args := range [][]string{{"run", "--as-of", "2014-02-02"}, {"report"}} {
		if _, errs, code := w.zhutui(args...); code != 1 || !strings.Contains(errs, "another zhutui is working on this database") ||
			!strings.Contains(errs, fmt.Sprintf("pid %d", night.Process.Pid)) {
			t.Errorf("zhutui %s while a night writes: exit %d, %q", args[0], code, errs)
		}
	}
	w.goOn()
	if err := night.Wait(); err != nil {
		t.Fatalf("the night: %v\n%s", err, nightOut.String())
	}
}

// TestInitWhileANightRuns: zhutui init loads the programme (amounts,
// catalog, dates) that a night decides by, so it is refused while a night
// runs, naming the holder, as a second run is; once the night is done it
// works.
func TestInitWhileANightRuns(t *testing.T) {
	w := awaitingApproval(t)
	copyFile(t, filepath.Join(samples, "night2/registrations.csv"), w.path("inbox/registrations/night2.csv"))
	night, nightOut := w.pausedAt(t, "stage:reconcile:before", "run", "--as-of", "2014-02-02")
	if _, errs, code := w.zhutui("init"); code != 1 || !strings.Contains(errs, "another zhutui is working on this database") ||
		!strings.Contains(errs, fmt.Sprintf("pid %d", night.Process.Pid)) {
		t.Errorf("init while a night runs: exit %d, %q", code, errs)
	}
	w.goOn()
	if err := night.Wait(); err != nil {
		t.Fatalf("the night: %v\n%s", err, nightOut.String())
	}
	if out := w.ok("init"); !strings.Contains(out, "is loaded and unchanged") {
		t.Errorf("init after the night:\n%s", out)
	}
}

// TestWriteWhileANightWrites: commands that must write while a night holds
// the write lock past the busy timeout fail, say why and what to do, and
// change nothing. An approval is refused. zhutui ledger verify walks the
// ledger (it only reads) but cannot record its result: it prints what it
// found and says that it was not recorded; for a tampered ledger, that money
// may still move. (Each waits the whole 10 s timeout, so the commands of a
// night run at once, and the two cases beside each other and the other
// tests.)
func TestWriteWhileANightWrites(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, tamper, says string
	}{
		{"a good ledger", "", "agree, but this verification could not be recorded (run it again)"},
		{"a tampered ledger", `DROP TRIGGER ledger_entries_no_update; UPDATE ledger_entries SET amount_fen = 300000 WHERE seq = 3`,
			"ledger does not verify, and this could not be recorded, so money may still move: run zhutui ledger verify again"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := awaitingApproval(t)
			if c.tamper != "" {
				if _, err := w.sql(c.tamper); err != nil {
					t.Fatal(err)
				}
			}
			copyFile(t, filepath.Join(samples, "night2/registrations.csv"), w.path("inbox/registrations/night2.csv"))
			night, nightOut := w.pausedAt(t, "ingest:row", "run", "--as-of", "2014-02-02")
			approved := make(chan string, 1)
			go func() {
				_, errs, code := w.zhutui("batch", "approve", "B2014020101", "--by", "finance-li")
				approved <- fmt.Sprintf("exit %d, %q", code, errs)
			}()
			out, errs, code := w.zhutui("ledger", "verify")
			approval := <-approved
			w.goOn()
			if err := night.Wait(); err != nil {
				t.Fatalf("the night: %v\n%s", err, nightOut.String())
			}
			if !strings.HasPrefix(approval, "exit 1,") || !strings.Contains(approval, "database is locked") ||
				!strings.Contains(approval, "held the database's write lock") {
				t.Errorf("approve while a night writes: %s", approval)
			}
			if out := w.ok("batch", "show", "B2014020101"); !strings.Contains(out, "AWAITING_APPROVAL") || strings.Contains(out, "finance-li") {
				t.Errorf("the refused approval changed the batch:\n%s", out)
			}
			if code != 1 || !strings.Contains(out, "ledger: ") || !strings.Contains(out, "batched") ||
				!strings.Contains(errs, c.says) || !strings.Contains(errs, "database is locked") {
				t.Errorf("ledger verify while a night writes: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
			}
			if st := w.ok("status"); !strings.Contains(st, "the whole ledger was never verified") {
				t.Errorf("status after the unrecorded verification:\n%s", st)
			}
		})
	}
}

// TestInterruptedNight: Ctrl-C (SIGINT) in the middle of taking a file stops
// the night with exit 1 and an error that says it was stopped, not only how
// the open transaction met the cancellation; the run is recorded as failed
// with the rerun that finishes it, and the rerun does.
func TestInterruptedNight(t *testing.T) {
	w := night1Workdir(t)
	night, nightOut := w.pausedAt(t, "ingest:row", "run", "--as-of", "2014-02-01")
	if err := night.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	w.goOn()
	if err := night.Wait(); err == nil || night.ProcessState.ExitCode() != 1 ||
		!strings.Contains(nightOut.String(), "zhutui run: run 1, stage collect: stopped (context canceled) before the stage finished") ||
		strings.Contains(nightOut.String(), "reconcile: ") {
		t.Fatalf("the interrupted night: %v\n%s", err, nightOut.String())
	}
	if st := w.ok("status"); strings.Count(st, "stopped (context canceled)") != 1 || !strings.Contains(st, "finish it with: zhutui rerun 1") {
		t.Fatalf("status after the interrupted night:\n%s", st)
	}
	w.ok("rerun", "1")
	if _, err := os.Stat(w.path("outbox/payments/ZTPAY_B2014020101.txt")); err != nil {
		t.Fatalf("the rerun delivered no payment file: %v", err)
	}
	w.ledgerVerifies(t)
}

// TestRunLeftRunning: a run that could not record how it ended (a full disk
// failed a stage, then the record of the failure too) is left running with
// no process working on it. zhutui status says so, where it showed it
// running for ever; the next command to take the lease records it failed,
// and the next run takes its work over.
func TestRunLeftRunning(t *testing.T) {
	w := workdirWith(t, testConfig+"[approval]\nrequired = false\n")
	w.ok("init")
	w.dropNight1(t)
	w.ok("run", "--as-of", "2014-02-01")
	if _, err := w.sql(`UPDATE runs SET outcome = 'running', finished_at = NULL WHERE id = 1;
		UPDATE stages SET outcome = 'running', finished_at = NULL WHERE run_id = 1 AND stage = 'report'`); err != nil {
		t.Fatal(err)
	}
	if st := w.ok("status"); !strings.Contains(st, "    no process is running it: it ended without recording how (the next run, rerun, ingest, "+
		"report or init records it as failed)\n    finish it with: zhutui rerun 1\n") {
		t.Fatalf("status of a run left running:\n%s", st)
	}
	w.ok("run", "--as-of", "2014-02-02")
	st := w.ok("status")
	if !regexp.MustCompile(`(?m)^run 1 .* failed .*\n    stage report failed: interrupted: it ended without recording how `+
		`\(its process stopped, or could not write to the database\)\n    run 2, begun after it, succeeded and took every stage again`).MatchString(st) ||
		strings.Contains(st, "no process is running it") {
		t.Errorf("status after the next run:\n%s", st)
	}
}

// TestIngestOfAFileBeingWritten: zhutui ingest of an export that grows while
// it is read (its sender still writing it) takes nothing of it, exits 1
// saying to ingest it again once it is written, and then takes it whole.
func TestIngestOfAFileBeingWritten(t *testing.T) {
	w := workdirWith(t, testConfig)
	w.ok("init")
	export := w.path("export.csv")
	copyFile(t, filepath.Join(samples, "night1/registrations.csv"), export)
	cmd, out := w.pausedAt(t, "take:second-pass", "ingest", "registrations", export)
	f, err := os.OpenFile(export, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("R999,2014-01-10 09:00:00,2014-01-10 09:00:00,王小明,"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	w.goOn()
	err = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(out.String(), "zhutui ingest: "+export+
		": it changed while it was being read (still being written?): nothing of it taken; ingest it again once it is written") {
		t.Fatalf("ingest of a file being written: exit %d (%v)\n%s", code, err, out)
	}
	if n, err := w.sql(`SELECT count(*) FROM registrations`); err != nil || n != "0" {
		t.Fatalf("registrations after it: %s, %v", n, err)
	}
	copyFile(t, filepath.Join(samples, "night1/registrations.csv"), export) // written whole
	if out := w.ok("ingest", "registrations", export); out != export+": 31 applied, 0 unchanged, 0 rejected\n" {
		t.Errorf("ingest of the written file:\n%s", out)
	}
}

// TestFileSizeLimit: a night on a disk that fills. prlimit caps the size of
// every file the night writes (a write past the cap fails part-way, as on a
// full disk), from 60 KB upwards, so that each
// night fails at a later point, until one has room. Each failed night exits
// 1 naming its run and the stage it failed at, and the night after, with
// room, finishes its work as the night with room did it, once: the first
// night's one payment file (named by the night that made its batch), the
// results night's SMS file, each delivered and anchored once; the report
// RECONCILED, the ledger verified, no run left running. An approval or a
// reject that cannot be recorded says that nothing was done.
func TestFileSizeLimit(t *testing.T) {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("prlimit (util-linux) is needed under CI")
		}
		t.Skip("no prlimit (util-linux) here: the file size limit cannot be set")
	}
	// delivered returns the one file of a kind delivered, its lines but a
	// header naming its batch, and fails unless the anchor file has one line
	// for it.
	delivered := func(w *workdir, folder, pattern string) string {
		files, _ := filepath.Glob(w.path(folder, pattern))
		if len(files) != 1 {
			t.Fatalf("%s: files %q delivered, want one", w.dir, files)
		}
		name := filepath.Base(files[0])
		anchor := string(w.read("zhutui.ledger.anchor"))
		if strings.Count(anchor, "delivered="+strings.Split(pattern, "*")[0]) != 1 || !strings.Contains(anchor, "delivered="+name+"\n") {
			t.Errorf("%s: %s delivered, the anchor file:\n%s", w.dir, name, anchor)
		}
		_, lines, _ := strings.Cut(string(w.read(folder, name)), "\n")
		return lines
	}
	t.Run("FirstNight", func(t *testing.T) {
		seed := workdirWith(t, crashConfig)
		seed.ok("init")
		seed.dropNight1(t)
		underLimit(t, prlimit, seed, "2014-02-01", 60_000, func(w *workdir) string {
			return delivered(w, "outbox/payments", "ZTPAY_*.txt")
		})
	})
	t.Run("ResultsNight", func(t *testing.T) {
		seed := workdirWith(t, crashConfig)
		seed.ok("init")
		seed.dropNight1(t)
		seed.ok("run", "--as-of", "2014-02-01")
		name, res, err := bank.Answer(seed.read("outbox/payments", "ZTPAY_B2014020101.txt"), map[string]bank.Failure{"R001-1": bank.AccountClosed})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(seed.path("inbox/results", name), res, 0o644); err != nil {
			t.Fatal(err)
		}
		underLimit(t, prlimit, seed, "2014-02-02", 60_000, func(w *workdir) string {
			if list := w.ok("batch", "list"); !regexp.MustCompile(`(?m)^B2014020101 +SETTLED +11 +19000.00 +10 +1 `).MatchString(list) {
				t.Errorf("%s: batches:\n%s", w.dir, list)
			}
			return delivered(w, "outbox/sms", "ZTSMS_*.csv")
		})
	})
	t.Run("Approve", func(t *testing.T) {
		w := workdirWith(t, testConfig+"[approval]\nrequired = true\n")
		w.ok("init")
		w.dropNight1(t)
		w.ok("run", "--as-of", "2014-02-01")
		// 40 KB: the database opens (its log needs 32 KB), the approval's
		// commit does not fit.
		cmd := exec.Command(prlimit, "--fsize=40000", binary, "batch", "approve", "B2014020101", "--by", "finance-li")
		cmd.Dir, cmd.Env = w.dir, w.env
		out, err := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != 1 ||
			!strings.Contains(string(out), "zhutui batch: approve batch B2014020101: nothing was approved: ") {
			t.Fatalf("approve on a full disk: exit %d (%v): %s", code, err, out)
		}
		if list := w.ok("batch", "list"); !strings.Contains(list, "AWAITING_APPROVAL") {
			t.Fatalf("after the approval that failed:\n%s", list)
		}
		w.ok("batch", "approve", "B2014020101", "--by", "finance-li")
		cmd = exec.Command(prlimit, "--fsize=40000", binary, "batch", "reject", "B2014020101", "--by", "finance-li", "--reason", "r")
		cmd.Dir, cmd.Env = w.dir, w.env
		out, err = cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != 1 ||
			!strings.Contains(string(out), "zhutui batch: reject batch B2014020101: nothing was rejected: ") {
			t.Fatalf("reject on a full disk: exit %d (%v): %s", code, err, out)
		}
		if list := w.ok("batch", "list"); !strings.Contains(list, " APPROVED ") {
			t.Fatalf("after the reject that failed:\n%s", list)
		}
	})
}

// underLimit runs a night (zhutui run --as-of asOf) on copies of seed under
// file size limits rising by step, each failed one followed by the night
// after with room, and holds each of those to done, whose result must be the
// night with room's. The limits bind the write-ahead log, which starts empty
// each night, before the database (read, and written only by checkpoints).
func underLimit(t *testing.T, prlimit string, seed *workdir, asOf string, step int64, done func(*workdir) string) {
	after, err := time.Parse(time.DateOnly, asOf)
	if err != nil {
		t.Fatal(err)
	}
	// The stage, or what failed before or after the stages.
	stageAt := regexp.MustCompile(`zhutui run: run \d+(, stage (\w+)|: every stage succeeded, but (recording) that failed|: (record) it under the run lease): `)
	stages := map[string]bool{}
	var failed []*workdir
	var want string // what the night with room did
	for i := int64(1); ; i++ {
		if i > 100 {
			t.Fatal("no night had room")
		}
		limit := i * step
		w := emptyWorkdir(t)
		if out, err := exec.Command("cp", "-a", seed.dir+"/.", w.dir).CombinedOutput(); err != nil {
			t.Fatalf("copy the work folder: %v: %s", err, out)
		}
		cmd := exec.Command(prlimit, "--fsize="+strconv.FormatInt(limit, 10), binary, "run", "--as-of", asOf)
		cmd.Dir, cmd.Env = w.dir, w.env
		var errs bytes.Buffer
		cmd.Stderr = &errs
		if err := cmd.Run(); err == nil {
			want = done(w)
			break
		}
		m := stageAt.FindStringSubmatch(errs.String())
		if code := cmd.ProcessState.ExitCode(); code != 1 || m == nil {
			t.Fatalf("limit %d: exit %d, want 1 naming the run and stage:\n%s", limit, code, errs.String())
		}
		stages[m[2]+m[3]+m[4]] = true
		if out := w.ok("run", "--as-of", after.AddDate(0, 0, 1).Format(time.DateOnly)); !strings.Contains(out, "\n  verdict: RECONCILED\n") {
			t.Errorf("limit %d (%s): the night after it:\n%s", limit, m[0], out)
		}
		failed = append(failed, w)
	}
	t.Logf("%d nights failed, at %v", len(failed), slices.Sorted(maps.Keys(stages)))
	for _, w := range failed {
		if got := done(w); got != want {
			t.Errorf("%s: after the night with room:\n%s\nwant, as the night with room:\n%s", w.dir, got, want)
		}
		if st := w.ok("status"); strings.Contains(st, "running") {
			t.Errorf("%s: status:\n%s", w.dir, st)
		}
		w.ledgerVerifies(t)
	}
	if len(stages) < 5 {
		t.Errorf("the nights failed at %v: want five stages or more, so that the limits reach into the night", stages)
	}
}
