package main_test

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"zhutui/fixtures/bank"
)

// TestMoneyEndToEnd drives the binary through a whole payment cycle with
// file:// locations: run, approve, run (payment file), the bank's result file
// with two failures, run (statuses, verdict), run again (nothing new), and a
// second attempt after a card change.
func TestMoneyEndToEnd(t *testing.T) {
	w := newWorkdir(t)
	w.ok("init")
	w.dropNight1(t)
	out := w.ok("run", "--as-of", "2014-02-01")
	if entries, _ := os.ReadDir(w.path("outbox/payments")); len(entries) != 0 {
		t.Fatalf("a payment file was delivered before approval: %v", entries)
	}
	if !strings.Contains(string(w.read("reports/run-1/summary.txt")), "B2014020101: 11 lines, 19000.00 yuan") {
		t.Errorf("the report does not list the batch awaiting approval:\n%s", w.read("reports/run-1/summary.txt"))
	}
	if strings.Contains(out, "still awaiting approval") {
		t.Errorf("the night that made the batch calls it one of earlier runs:\n%s", out)
	}

	// Maker-checker: the creator cannot approve its own batch.
	if _, errs, code := w.zhutui("batch", "approve", "B2014020101", "--by", "system"); code != 1 || !strings.Contains(errs, "cannot also approve") {
		t.Fatalf("approval by the creator: exit %d, %q", code, errs)
	}
	if _, errs, code := w.zhutui("batch", "approve", "B2014020101"); code != 2 || !strings.Contains(errs, "--by USER") {
		t.Fatalf("approval without --by: exit %d, %q", code, errs)
	}
	w.ok("batch", "approve", "B2014020101", "--by", "finance-li")
	if st := w.ok("status"); !regexp.MustCompile(`approved, for the next run to deliver:\n  B2014020101: 11 lines, 19000.00 yuan, approved .+ by finance-li\n`).MatchString(st) ||
		strings.Contains(st, "its delivery began") || strings.Contains(st, "is delivering it now") {
		t.Errorf("status does not show the approved batch, not yet being delivered:\n%s", st)
	}
	w.ok("run", "--as-of", "2014-02-02")
	if st := w.ok("status"); !regexp.MustCompile(`sent, waiting for the bank's result file:\n  B2014020101: 11 lines, 19000.00 yuan, sent .+ \(ZTRES_B2014020101.txt\)\n`).MatchString(st) ||
		strings.Contains(st, "approved, for the next run") || strings.Contains(st, "not in a batch yet") {
		t.Errorf("status does not show the batch waiting for the bank:\n%s", st)
	}
	pay := w.read("outbox/payments/ZTPAY_B2014020101.txt")
	side := string(w.read("outbox/payments/ZTPAY_B2014020101.txt.sha256"))
	if !strings.HasSuffix(side, "  ZTPAY_B2014020101.txt\n") || len(side) != 64+2+len("ZTPAY_B2014020101.txt")+1 {
		t.Errorf("sidecar = %q", side)
	}
	check := exec.Command("sha256sum", "-c", "ZTPAY_B2014020101.txt.sha256")
	check.Dir = w.path("outbox/payments")
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("sha256sum -c: %v %s", err, out)
	}

	// The bank returns two payments.
	name, result, err := bank.Answer(pay, map[string]bank.Failure{"R001-1": bank.AccountClosed, "R028-1": bank.NameMismatch})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.path("inbox/results", name), result, 0o644); err != nil {
		t.Fatal(err)
	}
	w.ok("run", "--as-of", "2014-02-03")
	regs := w.read("reports/run-3/registrations.csv")
	golden(t, "money/registrations.csv", regs)
	summary := string(w.read("reports/run-3/summary.txt"))
	if !strings.Contains(summary, "verdict 结论: RECONCILED") {
		t.Errorf("verdict is not RECONCILED:\n%s", summary)
	}
	for _, want := range []string{"R001,RETURNED,2000.00,,R001-1,B2014020101", "R002,PAID,1000.00,,R002-1,B2014020101"} {
		if !bytes.Contains(regs, []byte(want)) {
			t.Errorf("registrations.csv has no line %q", want)
		}
	}

	// An operator reruns a run that did not fail: nothing is done again.
	if out := w.ok("rerun", "3"); out != "run 3 succeeded already: nothing to finish\n" {
		t.Errorf("rerun of a succeeded run: %q", out)
	}
	if _, errs, code := w.zhutui("rerun", "three"); code != 2 || !strings.Contains(errs, `"three" is not a run id`) {
		t.Errorf("rerun of a bad id: exit %d, %q", code, errs)
	}

	// Running again: no new file, nothing changes.
	w.ok("run", "--as-of", "2014-02-04")
	if !bytes.Equal(regs, w.read("reports/run-4/registrations.csv")) {
		t.Error("registrations.csv changed on a run with nothing new")
	}
	files, _ := os.ReadDir(w.path("outbox/payments"))
	if len(files) != 2 {
		t.Errorf("outbox/payments holds %d files, want the one payment file and its sidecar", len(files))
	}
	w.ok("ledger", "verify")

	// R001 updates its card: its returned payment is paid again as attempt 2.
	export := string(w.read("inbox/registrations/night1.csv"))
	var header, r001 string
	for i, l := range strings.Split(export, "\n") {
		if i == 0 {
			header = l
		}
		if strings.Contains(l, ",R001,") {
			r001 = l
		}
	}
	r001 = strings.Replace(r001, "6210670000000000016", "6210670000000000990", 1)
	r001 = strings.ReplaceAll(r001, "2014-01-10 09:00:00,R001", "2014-02-04 09:00:00,R001")
	if err := os.WriteFile(w.path("inbox/registrations/update.csv"), []byte(header+"\n"+r001+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out = w.ok("run", "--as-of", "2014-02-05")
	if !strings.Contains(string(w.read("reports/run-5/registrations.csv")), "R001,BATCHED,2000.00,,R001-2,B2014020501") {
		t.Errorf("R001 was not paid again as attempt 2:\n%s\n%s", out, w.read("reports/run-5/registrations.csv"))
	}
	if !strings.Contains(string(w.read("reports/run-5/registrations.csv")), "R028,RETURNED") {
		t.Error("R028 is paid again although its card and name did not change")
	}
	w.ok("ledger", "verify")

	// The bank says it fixed R028's account: finance staff reissue the batch
	// by hand, and the next run batches R028 as attempt 2.
	if _, errs, code := w.zhutui("batch", "reissue", "B2014020101", "--by", "finance-li"); code != 2 || !strings.Contains(errs, "--reason") {
		t.Errorf("reissue without a reason: exit %d, %q", code, errs)
	}
	out = w.ok("batch", "reissue", "B2014020101", "--by", "finance-li", "--reason", "the bank corrected the account name")
	if out != "batch B2014020101: 1 returned payment is ELIGIBLE again as the next attempt\n" {
		t.Errorf("reissue said %q", out)
	}
	// Again, by mistake: nothing is left to reissue, and nothing is recorded.
	out = w.ok("batch", "reissue", "B2014020101", "--by", "finance-li", "--reason", "the bank corrected the account name")
	if out != "batch B2014020101: no RETURNED payment to reissue (the bank returned none, or they were reissued already)\n" {
		t.Errorf("a second reissue said %q", out)
	}
	// (The actions in one column: "delivering", the longest, takes ten.)
	if show := w.ok("batch", "show", "B2014020101"); strings.Count(show, "reissued   by finance-li") != 1 ||
		!strings.Contains(show, "  delivering by system  ") {
		t.Errorf("batch show after two reissues, one of nothing:\n%s", show)
	}
	w.ok("run", "--as-of", "2014-02-06")
	if !strings.Contains(string(w.read("reports/run-6/registrations.csv")), "R028,BATCHED,2000.00,,R028-2,B2014020601") {
		t.Errorf("R028 was not batched again as attempt 2:\n%s", w.read("reports/run-6/registrations.csv"))
	}
	list := w.ok("batch", "list")
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^batch +status +lines +total +paid +returned +created +approved by$`),
		regexp.MustCompile(`(?m)^B2014020101 +SETTLED +11 +19000.00 +9 +2 +\S.* +finance-li$`),
		regexp.MustCompile(`(?m)^B2014020501 +AWAITING_APPROVAL +1 +2000.00 +0 +0 +\S.* -$`),
		regexp.MustCompile(`(?m)^B2014020601 +AWAITING_APPROVAL +1 +2000.00 +0 +0 +\S.* -$`),
	} {
		if !want.MatchString(list) {
			t.Errorf("batch list has no line like %s:\n%s", want, list)
		}
	}
	if n := strings.Count(list, "\n"); n != 4 {
		t.Errorf("batch list has %d lines, want a header and 3 batches:\n%s", n, list)
	}
	if !strings.Contains(string(w.read("reports/run-6/summary.txt")), "verdict 结论: RECONCILED") {
		t.Errorf("run 6 is not RECONCILED:\n%s", w.read("reports/run-6/summary.txt"))
	}
	w.ok("ledger", "verify")
}

// TestAwaitingApprovalSaidEachNight: a batch waiting for approval is named
// in every later night's output, also after approval was turned off: it was
// made to be approved, and is delivered only once it is. A rerun names the
// batch its run's cut-off attempt made (it said "made by earlier runs").
func TestAwaitingApprovalSaidEachNight(t *testing.T) {
	w := workdirWith(t, testConfig+"[approval]\nrequired = true\n")
	w.ok("init")
	w.dropNight1(t)
	w.killedAt(t, "stage:report:before", "run", "--as-of", "2014-02-01")
	if out := w.ok("rerun", "1"); !strings.Contains(out, "  still awaiting approval: 1 batch, 19000.00 yuan: B2014020101 (zhutui batch approve ID... --by USER)\n") {
		t.Errorf("the rerun of the night that made the batch:\n%s", out)
	}
	w.editConfig(t, "required = true", "required = false")
	out := w.ok("run", "--as-of", "2014-02-02")
	if !strings.Contains(out, "  still awaiting approval: 1 batch, 19000.00 yuan: B2014020101 (zhutui batch approve ID... --by USER)\n") ||
		strings.Contains(out, "delivered") {
		t.Errorf("the night after, approval turned off:\n%s", out)
	}
	w.ok("batch", "approve", "B2014020101", "--by", "finance-li")
	if out := w.ok("run", "--as-of", "2014-02-03"); strings.Contains(out, "still awaiting") || !strings.Contains(out, "delivered ZTPAY_B2014020101.txt") {
		t.Errorf("the night after the approval:\n%s", out)
	}
}

// TestApproveSeveral: zhutui batch approve takes several batches: all of
// them are approved, or, when one cannot be, none, each that cannot named.
func TestApproveSeveral(t *testing.T) {
	w := workdirWith(t, testConfig+"max_lines = 5\n")
	w.ok("init")
	w.dropNight1(t)
	if out := w.ok("run", "--as-of", "2014-02-01"); strings.Count(out, "AWAITING_APPROVAL\n") != 3 {
		t.Fatalf("want three batches of at most 5 lines:\n%s", out)
	}
	_, errs, code := w.zhutui("batch", "approve", "B2014020101", "B2014020102", "B2014020109", "--by", "finance-li")
	if code != 1 || !strings.Contains(errs, "1 batch of the 3 cannot be approved, so none was:\n    batch B2014020109: ") {
		t.Fatalf("approve with an unknown batch among them: exit %d, %s", code, errs)
	}
	_, errs, code = w.zhutui("batch", "approve", "B2014020101", "B2014020102", "--by", "system")
	if code != 1 || !strings.Contains(errs, "none of the 2 batches can be approved:\n    approve batch B2014020101: system created it") {
		t.Fatalf("approve two by their creator: exit %d, %s", code, errs)
	}
	if out := w.ok("batch", "list"); strings.Contains(out, "finance-li") {
		t.Fatalf("a batch approved when another could not be:\n%s", out)
	}
	out := w.ok("batch", "approve", "B2014020101", "--by", "finance-li", "B2014020102", "B2014020101")
	if out != "batch B2014020101 approved by finance-li: the next run delivers it\nbatch B2014020102 approved by finance-li: the next run delivers it\n" {
		t.Fatalf("approve two (one named twice):\n%s", out)
	}
	out = w.ok("run", "--as-of", "2014-02-02")
	if !strings.Contains(out, "delivered ZTPAY_B2014020101.txt\n  delivered ZTPAY_B2014020102.txt\n") || strings.Contains(out, "ZTPAY_B2014020103") ||
		!strings.Contains(out, "still awaiting approval: 1 batch, ") {
		t.Errorf("the night after two of three were approved:\n%s", out)
	}
}

// TestDatabasePutBack: a database put back from a copy made before a night
// delivered a batch would take the night's files again and pay the same
// people a second time, and write its report over that night's. The anchor
// file beside it recorded the delivery with the ledger's head, so every run
// is refused, naming what was delivered since the copy, until the newest
// database is back, or an operator moves the anchor file aside.
func TestDatabasePutBack(t *testing.T) {
	w := workdirWith(t, testConfig+"[approval]\nrequired = false\n")
	w.ok("init")
	w.dropNight1(t)
	w.ok("backup", "copy.db")
	if out := w.ok("run", "--as-of", "2014-02-01"); !strings.Contains(out, "delivered ZTPAY_B2014020101.txt") {
		t.Fatalf("night 1:\n%s", out)
	}
	newest := w.path("newest.db")
	w.ok("backup", newest)
	report := w.read("reports/run-1/summary.txt")

	putBack := func(from string) {
		copyFile(t, from, w.path("zhutui.db"))
		os.Remove(w.path("zhutui.db-wal"))
		os.Remove(w.path("zhutui.db-shm"))
	}
	putBack(w.path("copy.db"))
	_, errs, code := w.zhutui("run", "--as-of", "2014-02-02")
	if code != 1 || !strings.Contains(errs, "the database is older than what was delivered from it: run 1 delivered ZTPAY_B2014020101.txt at ") ||
		!strings.Contains(errs, "(ZTPAY_B2014020101.txt of run 1), so none starts") {
		t.Fatalf("a run on the database put back: exit %d, %s", code, errs)
	}
	if entries, _ := os.ReadDir(w.path("outbox/payments")); len(entries) != 2 {
		t.Errorf("payment files after the refused run: %v", entries)
	}
	if again := w.read("reports/run-1/summary.txt"); !bytes.Equal(report, again) {
		t.Errorf("night 1's report was written over")
	}
	if st := w.ok("status"); !strings.Contains(st, "runs are refused: the database is older than what was delivered from it") {
		t.Errorf("status on the database put back:\n%s", st)
	}
	if out, _, code := w.zhutui("status", "--check"); code != 1 || !strings.HasSuffix(out, "\nNEEDS ATTENTION:\n"+
		"  - runs are refused: the database is older than what was delivered from it ("+w.path("zhutui.ledger.anchor")+")\n") {
		t.Errorf("status --check on the database put back: exit %d\n%s", code, out)
	}
	// Its ledger verifies, as the copy's did; what it lacks is outside it.
	if _, errs, code := w.zhutui("ledger", "verify"); code != 1 ||
		!strings.Contains(errs, "the chain, the balances and the payment states agree, but the database is older than what was delivered from it") {
		t.Errorf("ledger verify on the database put back: exit %d, %s", code, errs)
	}

	putBack(newest)
	if out := w.ok("run", "--as-of", "2014-02-02"); strings.Contains(out, "delivered") || !strings.Contains(out, "run 2\n") {
		t.Errorf("a run on the newest database, put back:\n%s", out)
	}

	// No newer copy, and the bank told: the operator moves the anchor aside.
	// The database is now as a whole folder put back would leave it (the
	// anchor file as old as the copy): the anchor cannot tell, and the bank's
	// folder does, while night 1's files are there. Once the bank has them
	// explained and they are gone, the night delivers.
	putBack(w.path("copy.db"))
	if err := os.Rename(w.path("zhutui.ledger.anchor"), w.path("zhutui.ledger.anchor.before-copy")); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := w.zhutui("run", "--as-of", "2014-02-03"); code != 1 ||
		!strings.Contains(errs, "run 1, stage deliver: nothing is delivered: the bank's folder file://"+w.path("outbox/payments")+
			" holds ZTPAY_B2014020101.txt of batch B2014020101, which this database never made (1 such batch in all)") {
		t.Fatalf("a run with night 1's files at the bank, unknown to the database: exit %d, %s", code, errs)
	}
	if files, _ := filepath.Glob(w.path("outbox/payments/ZTPAY_B20140203*")); len(files) != 0 {
		t.Fatalf("a payment file went out beside one this database never made: %v", files)
	}
	for _, f := range []string{"ZTPAY_B2014020101.txt", "ZTPAY_B2014020101.txt.sha256"} {
		if err := os.Remove(w.path("outbox/payments", f)); err != nil {
			t.Fatal(err)
		}
	}
	if out := w.ok("rerun", "1"); !strings.Contains(out, "delivered ZTPAY_B2014020301.txt") {
		t.Errorf("the night rerun once the bank's folder was cleared:\n%s", out)
	}
	if a := string(w.read("zhutui.ledger.anchor")); !strings.Contains(a, " run=1 ") || !strings.Contains(a, "delivered=ZTPAY_B2014020301.txt") {
		t.Errorf("the new anchor file:\n%s", a)
	}
}

// TestBackup: zhutui backup writes a whole copy of the database, mode 0600,
// to a new file and never over one (exit 2), also while a night runs: the
// copy is the database as it stood, its ledger head said, and put back it
// verifies and runs on. Copying the file by hand during a night, or without
// its -wal file, gives no such copy.
func TestBackup(t *testing.T) {
	w := workdirWith(t, crashConfig)
	w.ok("init")
	w.dropNight1(t)
	night, nightOut := w.pausedAt(t, "stage:report:before", "run", "--as-of", "2014-02-01") // delivered, not reported
	out := w.ok("backup", "during.db")
	w.goOn()
	if err := night.Wait(); err != nil {
		t.Fatalf("the night: %v\n%s", err, nightOut)
	}
	anchor := regexp.MustCompile(`entries=(\d+) head=(\w+) delivered=ZTPAY_B2014020101.txt`).FindStringSubmatch(string(w.read("zhutui.ledger.anchor")))
	if anchor == nil || !regexp.MustCompile(`^backed up to during.db \(\d+ bytes, mode 0600\): its ledger has `+anchor[1]+
		` entries, head hash `+anchor[2]+"\n    it holds every member's ID and card number in full; ").MatchString(out) {
		t.Fatalf("backup during the night, after its delivery (anchor %q):\n%s", anchor, out)
	}
	if fi, err := os.Stat(w.path("during.db")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the copy: %v, %v", fi, err)
	}
	if _, errs, code := w.zhutui("backup", "during.db"); code != 2 || !strings.Contains(errs, "the file exists already") {
		t.Errorf("a backup over a file: exit %d, %s", code, errs)
	}
	// Put back, the copy has night 1's delivery (its report was written
	// after the copy, so the run's reports folder has it): it verifies, and
	// the next night runs on it.
	copyFile(t, w.path("during.db"), w.path("zhutui.db"))
	os.Remove(w.path("zhutui.db-wal"))
	os.Remove(w.path("zhutui.db-shm"))
	w.ledgerVerifies(t)
	if out := w.ok("run", "--as-of", "2014-02-02"); strings.Contains(out, "delivered") {
		t.Errorf("the night after, on the copy:\n%s", out)
	}
}

// TestRestoreReports: a restore leaves the reports folder the copy's. A copy
// restored, then a night on it, then a newer copy restored: the newer copy's
// run 2, moved aside by the first restore, comes back, and the night run on
// the older copy under the same number is moved aside in its turn. Which run
// a report is of is told by its start, in its summary.
func TestRestoreReports(t *testing.T) {
	w := night1Workdir(t)
	w.ok("run", "--as-of", "2014-02-01")
	w.ok("backup", "older.db")
	w.ok("run", "--as-of", "2014-02-02") // nothing new: no delivery
	w.ok("backup", "newer.db")
	newer2 := w.read("reports/run-2/summary.txt")
	if out := w.ok("restore", "older.db"); !strings.Contains(out, "the reports of runs that are not the copy's are kept as "+w.path("reports/run-2.replaced-")) {
		t.Fatalf("the older copy restored:\n%s", out)
	}
	time.Sleep(1100 * time.Millisecond) // the next run 2 starts in another second than the first
	w.ok("run", "--as-of", "2014-02-02")
	older2 := w.read("reports/run-2/summary.txt")
	if bytes.Equal(older2, newer2) {
		t.Fatal("the two runs 2 wrote the same summary: nothing tells them apart")
	}
	out := w.ok("restore", "newer.db")
	if !strings.Contains(out, "the copy's own reports, moved aside by an earlier restore, are back: "+w.path("reports/run-2")+"\n") ||
		!strings.Contains(out, "the reports of runs that are not the copy's are kept as "+w.path("reports/run-2.replaced-")) {
		t.Fatalf("the newer copy restored:\n%s", out)
	}
	if got := w.read("reports/run-2/summary.txt"); !bytes.Equal(got, newer2) {
		t.Errorf("reports/run-2 is not the newer copy's run 2:\n%s", got)
	}
	if !bytes.Contains(w.read("reports/run-1/summary.txt"), []byte("run 1 (manual)")) {
		t.Error("run 1's report, both copies', is not in its place")
	}
	var kept int
	folders, _ := filepath.Glob(w.path("reports/run-2.replaced-*"))
	for _, f := range folders {
		if bytes.Equal(mustRead(t, filepath.Join(f, "summary.txt")), older2) {
			kept++
		}
	}
	if len(folders) != 1 || kept != 1 {
		t.Errorf("the older copy's run 2 is not kept aside alone: %v", folders)
	}
}

// TestBackupIntoTheFolder: zhutui backup with no FILE makes the copy the
// daemon makes after a night, for nights another scheduler runs: into
// [backup] folder under its own name, the oldest beyond [backup] keep removed.
func TestBackupIntoTheFolder(t *testing.T) {
	w := night1Workdir(t)
	if _, errs, code := w.zhutui("backup"); code != 2 || !strings.Contains(errs, "zhutui backup alone with [backup] folder set") {
		t.Errorf("backup with no FILE and no folder: exit %d, %s", code, errs)
	}
	w.editConfig(t, "[approval]\n", "[backup]\nfolder = \"backups\"\nkeep = 2\n[approval]\n")
	w.ok("run", "--as-of", "2014-02-01")
	if err := os.MkdirAll(w.path("backups"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, old := range []string{"zhutui-20140101-000000.db", "zhutui-20140102-000000.db"} {
		if err := os.WriteFile(w.path("backups", old), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out := w.ok("backup")
	m := regexp.MustCompile(`^backed up to (\S+/backups/zhutui-\d{8}-\d{6}\.db) \(\d+ bytes, mode 0600\)`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "\n    removed the oldest copy "+w.path("backups", "zhutui-20140101-000000.db")+" ([backup] keep = 2)\n") {
		t.Fatalf("backup into the folder:\n%s", out)
	}
	left, _ := filepath.Glob(w.path("backups", "*"))
	if want := []string{w.path("backups", "zhutui-20140102-000000.db"), m[1]}; !slices.Equal(left, want) {
		t.Errorf("the folder holds %v, want %v", left, want)
	}
	if st := w.ok("status"); !strings.Contains(st, "the newest copy of the database: "+m[1]+" (2 copies kept there") {
		t.Errorf("status after the copy:\n%s", st)
	}
}

// TestRestore: zhutui restore puts a copy in the database's place only when
// that is safe, and never over anything: not while a process has the
// database open, not a copy older than a delivery (it would pay again) or
// one that is no database; the database replaced is moved aside with its
// -wal and -shm files (a -wal left beside the copy would be read as its
// own), and the copy itself is left as it was.
func TestRestore(t *testing.T) {
	w := night1Workdir(t)
	w.ok("backup", "before.db")
	w.ok("run", "--as-of", "2014-02-01") // delivers ZTPAY_B2014020101.txt
	w.ok("backup", "after.db")
	copied := w.read("after.db")
	want := "1"
	unchanged := func(what string) {
		t.Helper()
		if left, _ := filepath.Glob(w.path("zhutui.db.re*")); len(left) > 0 {
			t.Errorf("%s: left %v", what, left)
		}
		if runs, err := w.sql(`SELECT count(*) FROM runs`); err != nil || runs != want {
			t.Errorf("%s: the database has %s runs (%v), want %s", what, runs, err, want)
		}
	}
	_, errs, code := w.zhutui("restore", "before.db")
	if code != 1 || !strings.Contains(errs, "zhutui restore: before.db is not put in the database's place: the database is older than "+
		"what was delivered from it: run 1 delivered ZTPAY_B2014020101.txt") || !strings.Contains(errs, "; nothing was changed") {
		t.Errorf("a copy older than a delivery: exit %d, %s", code, errs)
	}
	unchanged("a copy older than a delivery")
	if err := os.WriteFile(w.path("junk.db"), []byte("not a database, though long enough to look like one's first page\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := w.zhutui("restore", "junk.db"); code == 0 || !strings.Contains(errs, "junk.db is not put in the database's place: ") {
		t.Errorf("a copy that is no database: exit %d, %s", code, errs)
	}
	unchanged("a copy that is no database")
	if _, errs, code := w.zhutui("restore", "zhutui.db"); code != 2 || !strings.Contains(errs, "is the database itself, not a copy of it") {
		t.Errorf("the database as its own copy: exit %d, %s", code, errs)
	}
	copyFile(t, w.path("after.db"), w.path("zhutui.db.restoring")) // an operator's guess after a restore cut off
	if _, errs, code := w.zhutui("restore", "zhutui.db.restoring"); code != 2 || !strings.Contains(errs, "is the file restore checks a copy in") {
		t.Errorf("restore's own file as the copy: exit %d, %s", code, errs)
	}
	if !bytes.Equal(w.read("zhutui.db.restoring"), copied) {
		t.Error("restore's own file given as the copy was changed")
	}
	os.Remove(w.path("zhutui.db.restoring"))

	// A night stopped by a kill (or a power cut) leaves its write-ahead log
	// beside the database, with what it recorded: the restore moves it aside
	// with the database it belongs to.
	w.ok("run", "--as-of", "2014-02-02") // reports/run-2, which the copy does not know of
	report2 := w.read("reports/run-2/summary.txt")
	night, _ := w.pausedAt(t, "stage:report:before", "run", "--as-of", "2014-02-02")
	_, errs, code = w.zhutui("restore", "after.db")
	night.Process.Kill()
	night.Wait()
	if fi, err := os.Stat(w.path("zhutui.db-wal")); err != nil || fi.Size() == 0 {
		t.Fatalf("the killed night left no write-ahead log: %v, %v", fi, err)
	}
	if code != 1 || !strings.Contains(errs, fmt.Sprintf("is open in process %d (", night.Process.Pid)) || !strings.Contains(errs, "stop it first; nothing was changed") {
		t.Errorf("a restore during a night: exit %d, %s", code, errs)
	}
	want = "3"
	unchanged("a restore during a night")

	out := w.ok("restore", "after.db")
	if !regexp.MustCompile(`^restored \S+/zhutui.db from after.db: its ledger has \d+ entries, head hash [0-9a-f]{64}, and verifies`).MatchString(out) {
		t.Errorf("the restore:\n%s", out)
	}
	aside, _ := filepath.Glob(w.path("zhutui.db.replaced-*"))
	if len(aside) == 0 || !strings.Contains(out, "the database it replaced is kept as "+strings.TrimSuffix(strings.TrimSuffix(aside[0], "-wal"), "-shm")) {
		t.Fatalf("the database replaced: %v\n%s", aside, out)
	}
	if !bytes.Equal(w.read("after.db"), copied) {
		t.Error("the copy was changed")
	}
	// The database replaced, with night 2 in its log, is whole where it was
	// moved; the one restored has none of it.
	if runs, err := w.sql(`SELECT count(*) FROM runs`); err != nil || runs != "1" {
		t.Errorf("the database restored has %s runs (%v), want 1", runs, err)
	}
	// Run 2's report is kept aside: the copy's own run 2 takes its number.
	moved, _ := filepath.Glob(w.path("reports/run-2.replaced-*"))
	if len(moved) != 1 || !strings.Contains(out, "the reports of runs that are not the copy's are kept as "+moved[0]+"\n") {
		t.Fatalf("run 2's report moved aside: %v\n%s", moved, out)
	}
	if _, err := os.Stat(w.path("reports/run-1")); err != nil {
		t.Errorf("run 1's report, which the copy knows of: %v", err)
	}
	db, err := sql.Open("sqlite3", "file:"+aside[0]+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	var runs int
	if err := db.QueryRow(`SELECT count(*) FROM runs`).Scan(&runs); err != nil || runs != 3 {
		t.Errorf("the database moved aside has %d runs (%v), want 3", runs, err)
	}
	db.Close()
	w.ledgerVerifies(t)
	if out := w.ok("run", "--as-of", "2014-02-02"); strings.Contains(out, "delivered") {
		t.Errorf("the night after the restore delivered again:\n%s", out)
	}
	if kept := mustRead(t, filepath.Join(moved[0], "summary.txt")); !bytes.Equal(kept, report2) {
		t.Error("the report of run 2 moved aside was changed")
	}
	// Again, in the same second: the next database replaced gets a name of
	// its own, nothing is renamed over.
	w.ok("restore", "after.db")
	w.ok("restore", "after.db")
	if dbs, _ := filepath.Glob(w.path("zhutui.db.replaced-*[0-9]")); len(dbs) != 3 {
		t.Errorf("three databases replaced, kept as %v", dbs)
	}

	// Cut off between moving the database aside and putting the checked
	// copy in its place: no command opens or makes a database there (an
	// init would make an empty one), and the restore run again finishes.
	w.killedAt(t, "restore:swap", "restore", "after.db")
	for _, args := range [][]string{{"status"}, {"init"}, {"run"}} {
		if _, errs, code := w.zhutui(args...); code != 2 || !strings.Contains(errs, "a restore was cut off, its copy not yet in place") {
			t.Errorf("zhutui %s after a restore cut off: exit %d, %s", args[0], code, errs)
		}
	}
	if _, err := os.Stat(w.path("zhutui.db")); !os.IsNotExist(err) {
		t.Fatalf("a database was made after a restore cut off: %v", err)
	}
	w.ok("restore", "after.db")
	w.ledgerVerifies(t)

	// A -wal file with no database beside it belongs with the database it
	// was written for: restore does not move it aside under a name of its own.
	if err := os.Rename(w.path("zhutui.db"), w.path("elsewhere.db")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.path("zhutui.db-wal"), []byte("a log"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := w.zhutui("restore", "after.db"); code != 1 || !strings.Contains(errs, "there is no database "+w.path("zhutui.db")+" but there is its -wal file") {
		t.Errorf("a restore beside a lone -wal file: exit %d, %s", code, errs)
	}
}

// TestReissueSaysWhatItSkips: a returned payment whose registration is no
// longer payable (its certificate revoked the night the bank returned it) is
// not reissued, and zhutui batch reissue says which and why.
func TestReissueSaysWhatItSkips(t *testing.T) {
	w := awaitingApproval(t)
	w.ok("batch", "approve", "B2014020101", "--by", "finance-li")
	w.ok("run", "--as-of", "2014-02-02")
	name, result, err := bank.Answer(w.read("outbox/payments/ZTPAY_B2014020101.txt"), map[string]bank.Failure{"R001-1": bank.AccountClosed})
	if err != nil {
		t.Fatal(err)
	}
	revoked := "certificate_number,id_number,name,occupation,level,issue_date,authority_code,status,updated_at\n" +
		"C001,110105198001010016,王芳,半导体芯片制造工,1,2013-11-05,110105001,revoked,2014-02-02 09:00:00\n"
	for file, body := range map[string][]byte{"inbox/results/" + name: result, "inbox/certificates/revoked.csv": []byte(revoked)} {
		if err := os.WriteFile(w.path(file), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w.ok("run", "--as-of", "2014-02-03")
	if regs := string(w.read("reports/run-3/registrations.csv")); !strings.Contains(regs, "R001,RETURNED,2000.00,CERT_REVOKED,R001-1,B2014020101") {
		t.Fatalf("R001 is not RETURNED with its certificate revoked:\n%s", regs)
	}
	// Its member is told by the returned template, the others by the paid one.
	sms, _ := filepath.Glob(w.path("outbox/sms/ZTSMS_B2014020101_*.csv"))
	var notices string
	for _, f := range sms {
		notices += string(mustRead(t, f))
	}
	for _, l := range strings.Split(notices, "\n") {
		if strings.HasPrefix(l, "R0") && strings.Contains(l, "-returned,") != strings.Contains(l, "更新卡信息") {
			t.Errorf("a notice of the wrong template: %s", l)
		}
	}
	if !strings.Contains(notices, "R001-1-returned,") {
		t.Errorf("no notice of R001's return in %v:\n%s", sms, notices)
	}
	out := w.ok("batch", "reissue", "B2014020101", "--by", "finance-li", "--reason", "the bank reopened the account")
	if want := "batch B2014020101: 0 returned payments are ELIGIBLE again as the next attempt\n" +
		"  not reissued: R001-1: the registration is now CERT_REVOKED\n"; out != want {
		t.Errorf("reissue said %q, want %q", out, want)
	}
}

// TestLedgerTamper shows that `ledger verify` finds an entry changed with the
// sqlite3 shell, even with the append-only triggers dropped first.
func TestLedgerTamper(t *testing.T) {
	w := newWorkdir(t)
	w.ok("init")
	w.dropNight1(t)
	w.ok("run", "--as-of", "2014-02-01")
	if st := w.ok("status"); !strings.Contains(st, "the whole ledger was never verified") {
		t.Errorf("status before any full verification:\n%s", st)
	}
	if out := w.ok("ledger", "verify"); !strings.Contains(out, "verified") {
		t.Fatalf("clean ledger: %s", out)
	}
	if st := w.ok("status"); !regexp.MustCompile(`the whole ledger last verified: \S+ \S+, \d+ entries, agreed\n`).MatchString(st) {
		t.Errorf("status after a clean full verification:\n%s", st)
	}
	if _, err := w.sql(`UPDATE ledger_entries SET amount_fen = 300000 WHERE seq = 3`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("the trigger let an UPDATE through: %v", err)
	}
	w.ok("batch", "approve", "B2014020101", "--by", "finance-li")
	original, err := w.sql(`SELECT amount_fen FROM ledger_entries WHERE seq = 3`)
	if err != nil {
		t.Fatal(err)
	}
	// Entry 3 was verified by run 1's report: only a full verification
	// finds it changed.
	if _, err := w.sql(`DROP TRIGGER ledger_entries_no_update; UPDATE ledger_entries SET amount_fen = 300000 WHERE seq = 3`); err != nil {
		t.Fatalf("tamper: %v", err)
	}
	_, errs, code := w.zhutui("ledger", "verify")
	if code != 1 || !strings.Contains(errs, "first bad entry is 3") {
		t.Fatalf("ledger verify after tampering: exit %d, %q", code, errs)
	}

	// No money moves while the books do not agree: the approved batch stays
	// where it is, the night's report says why, and the run exits 1.
	out, errs, code := w.zhutui("run", "--as-of", "2014-02-02")
	if code != 1 || !strings.Contains(errs, "run 2 finished, but no money moves while the books do not agree: ledger entry 3") ||
		!strings.Contains(out, "MONEY HELD: no money moves while the books do not agree") {
		t.Fatalf("a run on a tampered ledger: exit %d\n%s\n%s", code, out, errs)
	}
	if files, _ := os.ReadDir(w.path("outbox/payments")); len(files) != 0 {
		t.Fatalf("a payment file went out from a tampered ledger: %v", files)
	}
	if s := string(w.read("reports/run-2/summary.txt")); !strings.Contains(s, "verdict 结论: NOT RECONCILED: 1 problem: ledger entry 3") ||
		!strings.Contains(s, "资金冻结 MONEY HELD by this run (no batch made or delivered): no money moves while the books do not agree: ledger entry 3") {
		t.Errorf("run 2's report:\n%s", s)
	}
	if html := string(w.read("reports/run-2/report.html")); !strings.Contains(html, `data-test="held"`) {
		t.Error("run 2's report.html does not say that money was held")
	}
	if csv := string(w.read("reports/run-2/summary.csv")); !strings.Contains(csv, "held,no money moves while the books do not agree: ledger entry 3") {
		t.Errorf("run 2's summary.csv does not say that money was held:\n%s", csv)
	}
	if st := w.ok("status"); !strings.Contains(st, "THE BOOKS DO NOT AGREE: the report of run 2 says NOT RECONCILED") ||
		!strings.Contains(st, "entries, FAILED: entry 3") ||
		!strings.Contains(st, "approved, for the next run to deliver:\n  B2014020101") {
		t.Errorf("status after a held run:\n%s", st)
	}
	if out, _, code := w.zhutui("status", "--check"); code != 1 ||
		!strings.Contains(out, "\nNEEDS ATTENTION:\n  - the books do not agree: the report of run 2 says NOT RECONCILED: 1 problem: ledger entry 3 ") ||
		!strings.Contains(out, "\n  - the last verification of the whole ledger failed: entry 3 ") {
		t.Errorf("status --check after a held run: exit %d\n%s", code, out)
	}
	// The next night holds too, on the last report's word.
	if _, errs, code := w.zhutui("run", "--as-of", "2014-02-03"); code != 1 || !strings.Contains(errs, "the report of run 2 says NOT RECONCILED") {
		t.Fatalf("the night after: exit %d, %q", code, errs)
	}
	// Its report written again elsewhere: status points to that one.
	w.ok("report", "--out", "elsewhere")
	if st := w.ok("status"); !strings.Contains(st, "THE BOOKS DO NOT AGREE: the report of run 3 says NOT RECONCILED") ||
		!strings.Contains(st, w.path("elsewhere/run-3/summary.txt")) {
		t.Errorf("status after the report written elsewhere:\n%s", st)
	}

	// Mended (here: the amount put back), verified, reported: money moves.
	if _, err := w.sql(`UPDATE ledger_entries SET amount_fen = ` + strings.TrimSpace(original) + ` WHERE seq = 3`); err != nil {
		t.Fatalf("mend: %v", err)
	}
	w.ok("ledger", "verify")
	if out := w.ok("report"); !strings.Contains(out, "verdict: RECONCILED") {
		t.Fatalf("the report after mending: %s", out)
	}
	if st := w.ok("status"); strings.Contains(st, "DO NOT AGREE") {
		t.Errorf("status still says the books do not agree:\n%s", st)
	}
	if out := w.ok("run", "--as-of", "2014-02-04"); !strings.Contains(out, "delivered ZTPAY_B2014020101.txt") {
		t.Errorf("the mended night delivered nothing:\n%s", out)
	}
	if s := string(w.read("reports/run-4/summary.txt")); strings.Contains(s, "MONEY HELD") {
		t.Errorf("the mended night's report says money was held:\n%s", s)
	}
}

// TestMisnamedResult: a result file whose name is not ZTRES_ of the batch its
// header answers is quarantined, nothing applied. Taken, it would have kept
// that name from the right file of the batch it is named for, whose bytes
// would then clash with it. The answer under its right name settles the batch.
func TestMisnamedResult(t *testing.T) {
	w := night1Workdir(t)
	w.ok("run", "--as-of", "2014-02-01")
	name, result, err := bank.Answer(w.read("outbox/payments", "ZTPAY_B2014020101.txt"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.path("inbox/results", "ZTRES_B2014020102.txt"), result, 0o644); err != nil {
		t.Fatal(err)
	}
	out := w.ok("run", "--as-of", "2014-02-02")
	if !strings.Contains(out, "QUARANTINED: ZTRES_B2014020102.txt: answers batch B2014020101 (its header) but is not named ZTRES_B2014020101.txt") {
		t.Fatalf("the misnamed result file:\n%s", out)
	}
	if show := w.ok("batch", "show", "B2014020101"); !strings.Contains(show, "SENT") {
		t.Fatalf("the misnamed file was applied:\n%s", show)
	}
	if err := os.WriteFile(w.path("inbox/results", name), result, 0o644); err != nil {
		t.Fatal(err)
	}
	w.ok("run", "--as-of", "2014-02-03")
	if show := w.ok("batch", "show", "B2014020101"); !strings.Contains(show, "SETTLED") {
		t.Fatalf("after the right file:\n%s", show)
	}
}

// TestDeliverRefusesAlteredBatch alters a stored line of the second of three
// approved batches behind zhutui's back: the first batch is delivered, the
// second is refused because it no longer renders to the bytes fixed when it
// was made, and nothing after it is sent; once the line is put back, the
// next run delivers the other two.
func TestDeliverRefusesAlteredBatch(t *testing.T) {
	w := workdirWith(t, testConfig+"max_lines = 4\n[approval]\nrequired = false\n")
	w.ok("init")
	w.dropNight1(t)
	sql := func(q string) {
		t.Helper()
		if _, err := w.sql(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// The first run makes the batches but cannot deliver them: a file stands
	// where the payments folder should be.
	if err := os.RemoveAll(w.path("outbox/payments")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.path("outbox/payments"), nil, 0o444); err != nil {
		t.Fatal(err)
	}
	if _, _, code := w.zhutui("run", "--as-of", "2014-02-01"); code == 0 {
		t.Fatal("run delivered into a file")
	}
	if err := os.Remove(w.path("outbox/payments")); err != nil {
		t.Fatal(err)
	}
	sql(`UPDATE batch_lines SET name = '改' || name WHERE batch_id = 'B2014020102' AND seq = 1`)
	_, errs, code := w.zhutui("run", "--as-of", "2014-02-01")
	if code == 0 || !strings.Contains(errs, "batch B2014020102 renders to other bytes") {
		t.Fatalf("run with an altered batch: exit %d, %q", code, errs)
	}
	files, _ := os.ReadDir(w.path("outbox/payments"))
	var names []string
	for _, f := range files {
		names = append(names, f.Name())
	}
	if strings.Join(names, " ") != "ZTPAY_B2014020101.txt ZTPAY_B2014020101.txt.sha256" {
		t.Fatalf("outbox/payments holds %v, want only the first batch's file and sidecar", names)
	}
	sql(`UPDATE batch_lines SET name = substr(name, 2) WHERE batch_id = 'B2014020102' AND seq = 1`)
	w.ok("run", "--as-of", "2014-02-01")
	files, _ = os.ReadDir(w.path("outbox/payments"))
	if len(files) != 6 {
		t.Fatalf("outbox/payments holds %d files after the line was put back, want 3 batches' files and sidecars", len(files))
	}
}
