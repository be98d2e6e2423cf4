package main_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestDemo runs what `make demo` runs, in a folder given by a relative path
// that does not exist yet: every night reconciles, the ledger verifies, the
// payment and SMS files reach their SFTP folders. A second demo in the same
// folder is refused.
func TestDemo(t *testing.T) {
	w := emptyWorkdir(t)
	out := w.ok("demo", "--dir", "demo")
	if n := strings.Count(out, "verdict: RECONCILED"); n != 3 {
		t.Errorf("%d nights RECONCILED, want 3:\n%s", n, out)
	}
	if !strings.Contains(out, "verified: the chain, the balances and the payment states agree") {
		t.Errorf("the ledger did not verify:\n%s", out)
	}
	if s := string(w.read("demo/reports/run-3/summary.txt")); !strings.Contains(s, "verdict 结论: RECONCILED\n") {
		t.Errorf("run 3's report:\n%s", s)
	}
	for _, pattern := range []string{"demo/sftp/bank/in/ZTPAY_B2014020101.txt", "demo/sftp/bank/in/ZTPAY_B2014020101.txt.sha256",
		"demo/sftp/sms-platform/in/ZTSMS_B2014020101_*.csv"} {
		if m, _ := filepath.Glob(w.path(pattern)); len(m) == 0 {
			t.Errorf("no %s", pattern)
		}
	}

	_, errs, code := w.zhutui("demo", "--dir", "demo")
	if code != 2 || !strings.Contains(errs, "the folder is not empty") {
		t.Errorf("a second demo in the same folder: exit %d, %s", code, errs)
	}
}
