package sqlite_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"zhutui/connectors/bankfile"
	"zhutui/connectors/sqlite"
	"zhutui/fixtures"
	"zhutui/fixtures/bank"
	"zhutui/pipeline"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func spec(maxLines int) pipeline.BatchSpec {
	return pipeline.BatchSpec{BusinessDate: pipeline.MustDate("2014-02-01"), PayerAccount: "0200001009000012345",
		Memo: "职业发展助推计划资助", MaxLines: maxLines, ApprovalRequired: true}
}

// payable loads n payable registrations (persons 0..n-1, level 2) and reconciles.
func payable(t *testing.T, st *sqlite.Store, n int) {
	t.Helper()
	var regs []pipeline.Registration
	var certs []pipeline.Certificate
	for i := range n {
		no := fmt.Sprintf("C%d", i+1)
		regs = append(regs, reg(fmt.Sprintf("R%d", i+1), i, no, fmt.Sprintf("2014-01-1%d 09:00:00", i)))
		certs = append(certs, cert(no, i, "2013-12-01 08:00:00"))
	}
	ingestCerts(t, st, certs...)
	ingestRegs(t, st, regs...)
	reconcile(t, st)
}

func render(b *pipeline.Batch) ([]byte, error) { return bankfile.Format{}.RenderPayment(b) }

// bankAnswers has the pretend bank answer a payment file, the lines named
// failing, and returns its result file, parsed.
func bankAnswers(tb testing.TB, data []byte, fail map[string]bank.Failure) (string, *pipeline.ResultFile) {
	tb.Helper()
	name, res, err := bank.Answer(data, fail)
	if err != nil {
		tb.Fatal(err)
	}
	rf, err := bankfile.ParseResult(name, bytes.NewReader(res))
	if err != nil {
		tb.Fatal(err)
	}
	return name, rf
}

// batched makes n payable registrations into batch B2014020101 (run 1),
// awaiting approval.
func batched(t *testing.T, st *sqlite.Store, n int) {
	t.Helper()
	payable(t, st, n)
	if _, err := st.CreateBatches(context.Background(), 1, spec(10), render); err != nil {
		t.Fatal(err)
	}
}

// sentBatch makes n payable registrations into batch B2014020101, approves
// it and records it sent (run 2); it returns the batch's payment file.
func sentBatch(t *testing.T, st *sqlite.Store, n int) []byte {
	t.Helper()
	ctx := context.Background()
	batched(t, st, n)
	if _, err := st.ApproveBatches(ctx, []string{"B2014020101"}, "finance-li"); err != nil {
		t.Fatal(err)
	}
	data := paymentFile(t, st, "B2014020101")
	if err := st.MarkSent(ctx, 2, "B2014020101", []pipeline.Delivery{{Kind: "payment", BatchID: "B2014020101", Location: "file:///out", Name: "x"}}); err != nil {
		t.Fatal(err)
	}
	return data
}

// paymentFile reads a batch and renders its payment file.
func paymentFile(tb testing.TB, st *sqlite.Store, id string) []byte {
	tb.Helper()
	b, err := st.Batch(context.Background(), id)
	if err != nil {
		tb.Fatal(err)
	}
	data, err := render(b)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

func verify(t *testing.T, st *sqlite.Store) {
	t.Helper()
	rep, err := st.VerifyLedger(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("ledger does not verify: %v", rep.Problems)
	}
}

// booksAgree checks that the ledger verifies and the money check reconciles.
func booksAgree(t *testing.T, st *sqlite.Store) {
	t.Helper()
	verify(t, st)
	m, err := st.MoneyCheck(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if v := m.Verdict(); v != pipeline.Reconciled {
		t.Errorf("verdict = %s", v)
	}
}

func ledgerLines(t *testing.T, st *sqlite.Store, where string) string {
	t.Helper()
	var rows []struct {
		Seq      int64  `db:"seq"`
		Movement string `db:"movement"`
		Ref      string `db:"payment_ref"`
		Debit    string `db:"debit"`
		Credit   string `db:"credit"`
		Amount   int64  `db:"amount_fen"`
		Batch    string `db:"batch_id"`
	}
	if err := st.DB().Select(&rows, `SELECT seq, movement, payment_ref, debit, credit, amount_fen, batch_id
		FROM ledger_entries WHERE `+where+` ORDER BY seq`); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "%d %s %s Dr %s Cr %s %s %s\n", r.Seq, r.Movement, r.Ref, r.Debit, r.Credit, pipeline.FormatFen(r.Amount), r.Batch)
	}
	return b.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		os.WriteFile(path, []byte(got), 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got\n%s--- want\n%s", name, got, want)
	}
}

func TestBatches(t *testing.T) {
	ctx := context.Background()
	st := MustOpen(t)
	payable(t, st, 3)
	made, err := st.CreateBatches(ctx, 1, spec(2), render)
	if err != nil {
		t.Fatal(err)
	}
	if len(made) != 2 || made[0].ID != "B2014020101" || made[0].Count != 2 || made[1].Count != 1 || made[0].TotalFen != 200000 {
		t.Fatalf("batches = %+v", made)
	}
	golden(t, "ledger-batch.txt", ledgerLines(t, st, "1"))
	verify(t, st)

	t.Run("RendersTheSameAfterARestart", func(t *testing.T) {
		b, err := st.Batch(ctx, "B2014020101")
		if err != nil {
			t.Fatal(err)
		}
		first, _ := render(b)
		second, _ := render(b)
		path := st.Path()
		st2, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer st2.Close()
		b2, err := st2.Batch(ctx, "B2014020101")
		if err != nil {
			t.Fatal(err)
		}
		third, _ := render(b2)
		if !bytes.Equal(first, second) || !bytes.Equal(first, third) {
			t.Fatal("a batch rendered to other bytes")
		}
		if got := fmt.Sprintf("%x", sha256sum(third)); got != b.FileSHA256 {
			t.Errorf("rendered sha256 %s, fixed at creation %s", got, b.FileSHA256)
		}
	})
	t.Run("ErrCreatorApproves", func(t *testing.T) {
		// The creator is refused however its name is spaced or cased.
		for _, by := range []string{"system", " system ", "SYSTEM"} {
			if _, err := st.ApproveBatches(ctx, []string{"B2014020101"}, by); err == nil || !strings.Contains(err.Error(), "cannot also approve") {
				t.Fatalf("approved by %q: err = %v", by, err)
			}
		}
		for _, by := range []string{"", "   "} {
			if _, err := st.ApproveBatches(ctx, []string{"B2014020101"}, by); err == nil {
				t.Fatalf("approved by nobody (%q)", by)
			}
		}
	})
	t.Run("ErrNoWhoOrWhy", func(t *testing.T) {
		// A rejection, and a reissue, says who and why.
		for _, tc := range []struct{ by, reason string }{{"finance-li", ""}, {"finance-li", "  "}, {" ", "wrong payer"}} {
			if err := st.RejectBatch(ctx, "B2014020101", tc.by, tc.reason); err == nil || !strings.Contains(err.Error(), "say who rejects (--by) and why (--reason)") {
				t.Fatalf("rejected by %q for %q: err = %v", tc.by, tc.reason, err)
			}
			if _, _, err := st.ReissueBatch(ctx, "B2014020101", tc.by, tc.reason); err == nil || !strings.Contains(err.Error(), "say who reissues (--by) and why (--reason)") {
				t.Fatalf("reissued by %q for %q: err = %v", tc.by, tc.reason, err)
			}
		}
		// Who and why are one line: a line break would print as an event
		// of its own in zhutui batch show.
		forged := "li\n  2014-02-01 09:00:00  approved   by boss"
		for _, tc := range []struct{ by, reason string }{{forged, "wrong payer"}, {"finance-li", forged}, {"li\u2028boss", "x"}, {"li\x1b[2K", "x"}} {
			if err := st.RejectBatch(ctx, "B2014020101", tc.by, tc.reason); err == nil || !strings.Contains(err.Error(), "holds a control character") {
				t.Fatalf("rejected by %q for %q: err = %v", tc.by, tc.reason, err)
			}
			if _, _, err := st.ReissueBatch(ctx, "B2014020101", tc.by, tc.reason); err == nil || !strings.Contains(err.Error(), "holds a control character") {
				t.Fatalf("reissued by %q for %q: err = %v", tc.by, tc.reason, err)
			}
			if tc.by == "finance-li" {
				continue
			}
			if _, err := st.ApproveBatches(ctx, []string{"B2014020101"}, tc.by); err == nil || !strings.Contains(err.Error(), "holds a control character") {
				t.Fatalf("approved by %q: err = %v", tc.by, err)
			}
		}
		if events, _ := st.BatchEvents(ctx, "B2014020101"); len(events) != 1 {
			t.Errorf("events after the refusals: %+v", events)
		}
	})
	t.Run("RejectedBatchIsEligibleAgain", func(t *testing.T) {
		if err := st.RejectBatch(ctx, "B2014020102", "finance-li", "wrong payer account"); err != nil {
			t.Fatal(err)
		}
		got := statuses(t, st)
		if got["R3"] != "ELIGIBLE" || got["R1"] != "BATCHED" {
			t.Fatalf("statuses = %v", got)
		}
		if _, err := st.ApproveBatches(ctx, []string{"B2014020102"}, "finance-li"); err == nil {
			t.Fatal("a rejected batch was approved")
		}
		reconcile(t, st) // the rejected registration is judged again; nothing changes
		made, err := st.CreateBatches(ctx, 2, spec(10), render)
		if err != nil || len(made) != 1 || made[0].ID != "B2014020103" || made[0].Count != 1 {
			t.Fatalf("after reject: %+v, %v", made, err)
		}
		verify(t, st)
		events, _ := st.BatchEvents(ctx, "B2014020102")
		if len(events) != 2 || events[1].Action != "rejected" || events[1].Detail != "wrong payer account" || events[1].Actor != "finance-li" {
			t.Errorf("events = %+v", events)
		}
	})
	t.Run("SeveralApprovedAllOrNone", func(t *testing.T) {
		// One that cannot be approved stops the others: none is, and the
		// error names each that cannot.
		_, err := st.ApproveBatches(ctx, []string{"B2014020103", "B2014020102", "B2099010101", "B2014020103"}, "finance-li")
		if err == nil || !strings.Contains(err.Error(), "2 batches of the 3 cannot be approved, so none was:\n") ||
			!strings.Contains(err.Error(), "approve batch B2014020102: it is REJECTED, not awaiting approval") ||
			!strings.Contains(err.Error(), "B2099010101") || strings.Contains(err.Error(), "B2014020103") {
			t.Fatalf("err = %v", err)
		}
		b, _ := st.Batch(ctx, "B2014020103")
		if b.Status != pipeline.BatchAwaitingApproval || b.ApprovedBy != "" {
			t.Fatalf("B2014020103 is %s, approved by %q", b.Status, b.ApprovedBy)
		}
		if events, _ := st.BatchEvents(ctx, "B2014020103"); len(events) != 1 {
			t.Errorf("events = %+v", events)
		}
	})
	t.Run("WrongAmountInResultChangesNothing", func(t *testing.T) {
		if _, err := st.ApproveBatches(ctx, []string{"B2014020101"}, "finance-li"); err != nil {
			t.Fatal(err)
		}
		b, _ := st.Batch(ctx, "B2014020101")
		data, _ := render(b)
		if err := st.MarkSent(ctx, 3, b.ID, []pipeline.Delivery{{Kind: "payment", BatchID: b.ID, Location: "file:///out", Name: "x"}}); err != nil {
			t.Fatal(err)
		}
		name, res, err := bank.Answer(data, nil)
		if err != nil {
			t.Fatal(err)
		}
		bad := bytes.Replace(res, []byte("|1000.00|S|"), []byte("|1001.00|S|"), 1)
		rf, err := bankfile.ParseResult(name, bytes.NewReader(bad))
		if err != nil {
			t.Fatal(err)
		}
		before := ledgerLines(t, st, "1")
		out, err := st.IngestResult(ctx, pipeline.InboundFile{Kind: pipeline.KindResults, Location: "file:///in", Name: name, SHA256: "x1"}, rf)
		if err != nil || !strings.Contains(out.Quarantined, "names amount 1001.00") {
			t.Fatalf("outcome %+v, %v", out, err)
		}
		if after := ledgerLines(t, st, "1"); after != before {
			t.Error("a quarantined result file moved money")
		}
		if got := statuses(t, st); got["R1"] != "SENT" || got["R2"] != "SENT" {
			t.Errorf("statuses after a quarantined result: %v", got)
		}
		// The faithful answer settles the batch.
		name, rf = bankAnswers(t, data, map[string]bank.Failure{"R2-1": bank.NoSuchCard})
		out, err = st.IngestResult(ctx, pipeline.InboundFile{Kind: pipeline.KindResults, Location: "file:///in", Name: name, SHA256: "x2"}, rf)
		if err != nil || out.Quarantined != "" || out.Applied != 2 {
			t.Fatalf("outcome %+v, %v", out, err)
		}
		if got := statuses(t, st); got["R1"] != "PAID" || got["R2"] != "RETURNED" {
			t.Errorf("statuses after the result: %v", got)
		}
		// The same answer found at another location changes nothing.
		before = ledgerLines(t, st, "1")
		out, err = st.IngestResult(ctx, pipeline.InboundFile{Kind: pipeline.KindResults, Location: "sftp://bank/out", Name: name, SHA256: "x2"}, rf)
		if err != nil || out.Quarantined != "" || out.Applied != 0 || out.Unchanged != 2 {
			t.Fatalf("the same answer again: %+v, %v", out, err)
		}
		if after := ledgerLines(t, st, "1"); after != before {
			t.Error("the same answer taken again moved money")
		}
		// The same batch answered again is quarantined.
		out, err = st.IngestResult(ctx, pipeline.InboundFile{Kind: pipeline.KindResults, Location: "file:///in", Name: "ZTRES_again.txt", SHA256: "x3"}, rf)
		if err != nil || !strings.Contains(out.Quarantined, "not awaiting a result") {
			t.Fatalf("second answer: %+v, %v", out, err)
		}
		booksAgree(t, st)
	})
	t.Run("Reissue", func(t *testing.T) {
		n, skipped, err := st.ReissueBatch(ctx, "B2014020101", "finance-li", "the bank fixed its card index")
		if err != nil || n != 1 || len(skipped) != 0 {
			t.Fatalf("reissue: %d, %v, %v", n, skipped, err)
		}
		if got := statuses(t, st); got["R2"] != "ELIGIBLE" {
			t.Errorf("R2 = %s", got["R2"])
		}
		var ref string
		st.DB().Get(&ref, `SELECT payment_ref FROM payments WHERE registration_id = 'R2' AND status = 'ELIGIBLE'`)
		if ref != "R2-2" {
			t.Errorf("next attempt = %q, want R2-2", ref)
		}
		verify(t, st)
		// The batch's history (zhutui batch show): each step, by whom.
		events, err := st.BatchEvents(ctx, "B2014020101")
		var got []string
		for _, e := range events {
			got = append(got, e.Action+" by "+e.Actor+": "+e.Detail)
		}
		want := []string{"created by system: ", "approved by finance-li: ", "delivered by system: ", "settled by bank: ",
			"reissued by finance-li: 1 payment: the bank fixed its card index"}
		if err != nil || len(got) != len(want) {
			t.Fatalf("events %q, %v; want %q", got, err, want)
		}
		for i := range want {
			if !strings.HasPrefix(got[i], want[i]) {
				t.Errorf("event %d is %q, want %q…", i, got[i], want[i])
			}
		}
		// Again: nothing is left to reissue, and the history gets no event
		// for it.
		if n, skipped, err := st.ReissueBatch(ctx, "B2014020101", "finance-li", "again"); err != nil || n != 0 || len(skipped) != 0 {
			t.Fatalf("second reissue: %d, %v, %v", n, skipped, err)
		}
		if again, err := st.BatchEvents(ctx, "B2014020101"); err != nil || len(again) != len(want) {
			t.Errorf("events after a reissue that moved nothing: %d, %v; want %d", len(again), err, len(want))
		}
		verify(t, st)
	})
}

// TestBatchGuards: each batch action is refused in the states where it would
// move money wrongly, and a refused action changes nothing.
func TestBatchGuards(t *testing.T) {
	ctx := context.Background()
	st := MustOpen(t)
	batched(t, st, 2)
	const id = "B2014020101"
	sent := []pipeline.Delivery{{Kind: "payment", BatchID: id, Location: "file:///out", Name: "ZTPAY_" + id + ".txt"}}
	if _, _, err := st.ReissueBatch(ctx, id, "finance-li", "too early"); err == nil || !strings.Contains(err.Error(), "it is AWAITING_APPROVAL") {
		t.Errorf("reissue of a batch not settled: %v", err)
	}
	if err := st.MarkSent(ctx, 2, id, sent); err == nil || !strings.Contains(err.Error(), "it is AWAITING_APPROVAL") {
		t.Errorf("a batch not approved marked sent: %v", err)
	}
	if made, err := st.CreateBatches(ctx, 2, spec(0), render); err == nil || !strings.Contains(err.Error(), "max lines must be positive") {
		t.Errorf("batches of at most 0 lines: %v, %d made", err, len(made))
	}
	if status, err := st.BeginDelivery(ctx, 1, id, "file:///out"); err != nil || status != pipeline.BatchAwaitingApproval {
		t.Errorf("delivery of a batch not approved: %s, %v", status, err)
	}
	if events, err := st.BatchEvents(ctx, id); err != nil || len(events) != 1 || events[0].Action != "created" {
		t.Errorf("a batch not approved was marked for delivery: %+v, %v", events, err)
	}
	if _, err := st.ApproveBatches(ctx, []string{id}, "finance-li"); err != nil {
		t.Fatal(err)
	}
	// Once its delivery began, the file may be at the bank: no reject.
	if status, err := st.BeginDelivery(ctx, 1, id, "file:///out"); err != nil || status != pipeline.BatchApproved {
		t.Fatalf("delivery of an approved batch: %s, %v", status, err)
	}
	before := ledgerLines(t, st, "1")
	if err := st.RejectBatch(ctx, id, "finance-li", "wrong memo"); err == nil ||
		!strings.Contains(err.Error(), "its delivery began in run 1") || !strings.Contains(err.Error(), "zhutui rerun 1") {
		t.Errorf("reject of a batch whose delivery began: %v", err)
	}
	// A night begun since, unfinished, is the one whose rerun finishes the
	// delivery (run 1 is not rerun once another night began after it).
	var later int64
	for later <= 1 {
		var err error
		if later, err = st.BeginRun(ctx, pipeline.MustDate("2014-02-02"), pipeline.TriggerSchedule); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.RejectBatch(ctx, id, "finance-li", "wrong memo"); err == nil ||
		!strings.Contains(err.Error(), fmt.Sprintf("(zhutui rerun %d finishes it)", later)) {
		t.Errorf("reject of a batch whose delivery began, a night later: %v", err)
	}
	// The bank's answer, taken by hand meanwhile, is refused saying the same.
	data := paymentFile(t, st, id)
	name, rf := bankAnswers(t, data, nil)
	var unfinished *pipeline.UnfinishedDeliveryError
	if _, err := st.IngestResult(ctx, pipeline.InboundFile{Kind: pipeline.KindResults, Location: "file:///in", Name: name, SHA256: "r"}, rf); !errors.As(err, &unfinished) ||
		!strings.Contains(err.Error(), fmt.Sprintf("whose delivery began in run 1 but is not recorded as done: zhutui rerun %d finishes it; then take this file again", later)) {
		t.Errorf("the answer to a batch whose delivery began, a night later: %v", err)
	}
	if got := statuses(t, st); got["R1"] != "BATCHED" || got["R2"] != "BATCHED" || ledgerLines(t, st, "1") != before {
		t.Errorf("a refused reject changed something: %v", got)
	}
	if err := st.MarkSent(ctx, 2, id, nil); err == nil || !strings.Contains(err.Error(), "no delivery recorded") {
		t.Errorf("marked sent without a delivery: %v", err)
	}
	if err := st.MarkSent(ctx, 2, id, sent); err != nil {
		t.Fatal(err)
	}
	before = ledgerLines(t, st, "1")
	if err := st.RejectBatch(ctx, id, "finance-li", "too late"); err == nil || !strings.Contains(err.Error(), "it is SENT; only a batch not yet delivered") {
		t.Errorf("reject of a delivered batch: %v", err)
	}
	if got := statuses(t, st); got["R1"] != "SENT" || got["R2"] != "SENT" || ledgerLines(t, st, "1") != before {
		t.Errorf("a refused reject changed something: %v", got)
	}
	// A result file for a batch that was never made is quarantined.
	_, rf = bankAnswers(t, data, nil)
	rf.BatchID = "B2014020199"
	out, err := st.IngestResult(ctx, pipeline.InboundFile{Kind: pipeline.KindResults, Location: "file:///in", Name: "ZTRES_B2014020199.txt", SHA256: "u1"}, rf)
	if err != nil || out.Quarantined != "ZTRES_B2014020199.txt: answers batch B2014020199, which does not exist" {
		t.Errorf("a result for no batch: %+v, %v", out, err)
	}
	if got := statuses(t, st); got["R1"] != "SENT" || got["R2"] != "SENT" || ledgerLines(t, st, "1") != before {
		t.Errorf("a quarantined result changed something: %v", got)
	}
	verify(t, st)
}

// TestRejectedBatchIsNotDelivered: a batch rejected after the deliver stage
// listed it (the operator's reject committed first) is not marked for
// delivery, and the stage is told its status so that it puts nothing.
func TestRejectedBatchIsNotDelivered(t *testing.T) {
	ctx := context.Background()
	st := MustOpen(t)
	batched(t, st, 2)
	const id = "B2014020101"
	if _, err := st.ApproveBatches(ctx, []string{id}, "finance-li"); err != nil {
		t.Fatal(err)
	}
	if err := st.RejectBatch(ctx, id, "finance-wang", "wrong memo"); err != nil {
		t.Fatal(err)
	}
	// Rejected twice: refused, saying it was done, and nothing posted again.
	if err := st.RejectBatch(ctx, id, "finance-li", "wrong memo"); err == nil ||
		err.Error() != "reject batch B2014020101: it is REJECTED already; its payments were made ELIGIBLE again then" {
		t.Errorf("a second reject: %v", err)
	}
	if status, err := st.BeginDelivery(ctx, 1, id, "file:///out"); err != nil || status != pipeline.BatchRejected {
		t.Fatalf("delivery of a rejected batch: %s, %v", status, err)
	}
	events, err := st.BatchEvents(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if e.Action == "delivering" {
			t.Errorf("a rejected batch was marked for delivery: %+v", e)
		}
	}
	if got := statuses(t, st); got["R1"] != "ELIGIBLE" || got["R2"] != "ELIGIBLE" {
		t.Errorf("payments of the rejected batch: %v", got)
	}
	verify(t, st)
}

// TestReissueSkipsWhatIsNoLongerPayable: the bank returns both payments of
// a batch; one registration's certificate is revoked afterwards. A reissue
// pays the other again and leaves the revoked one RETURNED, saying why.
func TestReissueSkipsWhatIsNoLongerPayable(t *testing.T) {
	ctx := context.Background()
	st := MustOpen(t)
	const id = "B2014020101"
	data := sentBatch(t, st, 2)
	name, rf := bankAnswers(t, data, map[string]bank.Failure{"R1-1": bank.NoSuchCard, "R2-1": bank.CardAbnormal})
	if out, err := st.IngestResult(ctx, pipeline.InboundFile{Kind: pipeline.KindResults, Location: "file:///in", Name: name, SHA256: "r1"}, rf); err != nil || out.Applied != 2 {
		t.Fatalf("result: %+v, %v", out, err)
	}
	revoked := cert("C1", 0, "2014-02-10 08:00:00")
	revoked.Status = pipeline.CertificateRevoked
	ingestCerts(t, st, revoked)
	reconcile(t, st)
	n, skipped, err := st.ReissueBatch(ctx, id, "finance-li", "the bank fixed its card index")
	if err != nil || n != 1 || len(skipped) != 1 || skipped[0] != "R1-1: the registration is now CERT_REVOKED" {
		t.Fatalf("reissue: %d, %q, %v", n, skipped, err)
	}
	if got := paymentStates(t, st); got != "R1-1 RETURNED, R2-1 REISSUED, R2-2 ELIGIBLE" {
		t.Errorf("payments after the reissue: %s", got)
	}
	booksAgree(t, st)
}

// paymentStates lists every payment as "<payment_ref> <status>", in
// reference order.
func paymentStates(t *testing.T, st *sqlite.Store) string {
	t.Helper()
	var got []string
	if err := st.DB().Select(&got, `SELECT payment_ref || ' ' || status FROM payments ORDER BY payment_ref`); err != nil {
		t.Fatal(err)
	}
	return strings.Join(got, ", ")
}

func TestWithdrawBeforeBatch(t *testing.T) {
	st := MustOpen(t)
	payable(t, st, 1)
	revoked := cert("C1", 0, "2014-01-30 08:00:00")
	revoked.Status = pipeline.CertificateRevoked
	ingestCerts(t, st, revoked)
	expect(t, reconcile(t, st), map[string]string{"R1": "CERT_REVOKED"})
	ingestCerts(t, st, cert("C1", 0, "2014-01-31 08:00:00"))
	expect(t, reconcile(t, st), map[string]string{"R1": "ELIGIBLE"})
	golden(t, "ledger-withdraw.txt", ledgerLines(t, st, "1"))
	verify(t, st)
}

// TestAmountChangeBeforeBatch: a payable registration whose level is
// corrected on both sides (the feed's version and the member's) before its
// payment is in a batch is payable for the new amount: the payment for the
// old one is withdrawn and the attempt made payable again at the new amount,
// each movement posted.
func TestAmountChangeBeforeBatch(t *testing.T) {
	st := MustOpen(t)
	payable(t, st, 1) // R1: level 2, 1000.00
	c := cert("C1", 0, "2014-01-30 08:00:00")
	c.Occupation, c.Level = "电子计算机调试工", 1
	r := reg("R1", 0, "C1", "2014-01-10 09:00:00")
	r.UpdatedAt, r.Occupation, r.Level = at("2014-01-30 09:00:00"), c.Occupation, 1
	ingestCerts(t, st, c)
	ingestRegs(t, st, r)
	expect(t, reconcile(t, st), map[string]string{"R1": "ELIGIBLE"})
	var live []string
	if err := st.DB().Select(&live, `SELECT payment_ref || ' ' || status || ' ' || amount_fen FROM payments ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(live, ", "); got != "R1-1 ELIGIBLE 200000" {
		t.Errorf("payments: %s, want R1-1 ELIGIBLE 200000", got)
	}
	if got, want := ledgerLines(t, st, "1"), "1 decide R1-1 Dr eligible Cr programme 1000.00 \n"+
		"2 withdraw R1-1 Dr programme Cr eligible 1000.00 \n3 decide R1-1 Dr eligible Cr programme 2000.00 \n"; got != want {
		t.Errorf("ledger:\n%swant\n%s", got, want)
	}
	verify(t, st)
}

// withBudget loads the built-in programme with a budget of yuan.
func withBudget(t *testing.T, st *sqlite.Store, yuan string) {
	t.Helper()
	src := strings.Replace(string(fixtures.Programme2013), `budget = ""`, `budget = "`+yuan+`"`, 1)
	p, err := pipeline.ParseProgramme([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.LoadProgramme(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}

func TestBudget(t *testing.T) {
	ctx := context.Background()
	st := MustOpen(t)
	withBudget(t, st, "2500.00")
	payable(t, st, 3) // 3 x 1000.00
	s := spec(10)
	s.BudgetSet, s.BudgetFen = true, 250000
	made, err := st.CreateBatches(ctx, 1, s, render)
	if err != nil || len(made) != 1 || made[0].Count != 2 || made[0].TotalFen != 200000 {
		t.Fatalf("batches within the budget: %+v, %v", made, err)
	}
	made, err = st.CreateBatches(ctx, 1, s, render)
	if err != nil || len(made) != 0 {
		t.Fatalf("a second batch past the budget: %+v, %v", made, err)
	}
	if got := statuses(t, st); got["R3"] != "ELIGIBLE" {
		t.Errorf("the payment over budget is %s, want ELIGIBLE", got["R3"])
	}
	// A budget the payments fill exactly takes them all.
	exact := MustOpen(t)
	payable(t, exact, 3)
	s.BudgetFen = 300000
	made, err = exact.CreateBatches(ctx, 1, s, render)
	if err != nil || len(made) != 1 || made[0].Count != 3 || made[0].TotalFen != 300000 {
		t.Fatalf("batches filling the budget exactly: %+v, %v", made, err)
	}
}

// TestBudgetCountsLivePaymentsOnly: a returned payment reissued leaves the
// budget: its first attempt (REISSUED) is no longer in a batch, and only its
// new attempt, when batched, takes the budget again. Both the batch stage's
// room and the budget the report and status show count the live payments
// in batches alone.
func TestBudgetCountsLivePaymentsOnly(t *testing.T) {
	ctx := context.Background()
	st := MustOpen(t)
	withBudget(t, st, "2000.00")
	data := sentBatch(t, st, 2) // 2 x 1000.00
	name, rf := bankAnswers(t, data, map[string]bank.Failure{"R1-1": bank.CardAbnormal})
	if out, err := st.IngestResult(ctx, pipeline.InboundFile{Kind: pipeline.KindResults, Location: "file:///in", Name: name, SHA256: "r"}, rf); err != nil || out.Quarantined != "" {
		t.Fatalf("%+v %v", out, err)
	}
	if n, _, err := st.ReissueBatch(ctx, "B2014020101", "finance-li", "bank fixed the card"); err != nil || n != 1 {
		t.Fatalf("reissue: %d %v", n, err)
	}
	r, err := st.Status(ctx, 1, "here")
	if err != nil {
		t.Fatal(err)
	}
	want := pipeline.BudgetState{BudgetFen: 200000, CommittedFen: 100000, WaitingCount: 1, WaitingFen: 100000}
	if r.Budget == nil || *r.Budget != want {
		t.Errorf("budget %+v, want %+v (R2-1 paid; R1-1 reissued as R1-2, payable)", r.Budget, want)
	}
	s := spec(10)
	s.BudgetSet, s.BudgetFen = true, 200000
	made, err := st.CreateBatches(ctx, 3, s, render)
	if err != nil || len(made) != 1 || made[0].Count != 1 || made[0].TotalFen != 100000 {
		t.Fatalf("the reissued attempt within the budget left: %+v, %v", made, err)
	}
	booksAgree(t, st)
}

func sha256sum(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}

// TestReissuedThenWithdrawnThenPayable follows a registration whose returned
// payment was reissued, whose certificate was then revoked (the new attempt
// is withdrawn) and reinstated: the attempt is payable again.
func TestReissuedThenWithdrawnThenPayable(t *testing.T) {
	ctx := context.Background()
	st := MustOpen(t)
	data := sentBatch(t, st, 1)
	name, rf := bankAnswers(t, data, map[string]bank.Failure{"R1-1": bank.CardAbnormal})
	if out, err := st.IngestResult(ctx, pipeline.InboundFile{Kind: pipeline.KindResults, Location: "file:///in", Name: name, SHA256: "r"}, rf); err != nil || out.Quarantined != "" {
		t.Fatalf("%+v %v", out, err)
	}
	if n, _, err := st.ReissueBatch(ctx, "B2014020101", "finance-li", "bank fixed the card"); err != nil || n != 1 {
		t.Fatalf("reissue: %d %v", n, err)
	}
	revoked := cert("C1", 0, "2014-02-10 08:00:00")
	revoked.Status = pipeline.CertificateRevoked
	ingestCerts(t, st, revoked)
	expect(t, reconcile(t, st), map[string]string{"R1": "CERT_REVOKED"})
	ingestCerts(t, st, cert("C1", 0, "2014-02-11 08:00:00"))
	got := reconcile(t, st)
	var ref string
	st.DB().Get(&ref, `SELECT payment_ref FROM payments WHERE registration_id = 'R1' AND status = 'ELIGIBLE'`)
	if got["R1"] != "ELIGIBLE" || ref != "R1-2" {
		t.Fatalf("R1 is %q with payable attempt %q, want ELIGIBLE R1-2", got["R1"], ref)
	}
	verify(t, st)
}

// TestVerifyFindsTampering alters the ledger behind the triggers' back in
// three ways; each is found.
func TestVerifyFindsTampering(t *testing.T) {
	for name, sql := range map[string]string{
		"EntryAmount":       `DROP TRIGGER ledger_entries_no_update; UPDATE ledger_entries SET amount_fen = 1 WHERE seq = 2`,
		"EntryRemoved":      `DROP TRIGGER ledger_entries_no_delete; DELETE FROM ledger_entries WHERE seq = 2`,
		"CheckpointBalance": `DROP TRIGGER ledger_checkpoints_no_update; UPDATE ledger_checkpoints SET paid = paid + 100`,
	} {
		t.Run(name, func(t *testing.T) {
			st := MustOpen(t)
			payable(t, st, 3)
			verify(t, st)
			if _, err := st.DB().Exec(sql); err != nil {
				t.Fatal(err)
			}
			rep, err := st.VerifyLedger(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() {
				t.Fatal("tampering went unnoticed")
			}
		})
	}
	// The payments changed behind the ledger's back, the ledger intact: a
	// payment withdrawn without its posting moves the balances and the
	// payment's own account; two amounts moved apart by the same sum move
	// only the payments' accounts.
	for name, tt := range map[string]struct {
		sql  string
		want []string
	}{
		"PaymentWithdrawn": {`UPDATE payments SET status = 'CANCELLED', ended = 1 WHERE payment_ref = 'R1-1'`, []string{
			"account eligible holds 3000.00, the payments ELIGIBLE hold 2000.00",
			"payment R1-1: the ledger leaves 1000.00 in eligible, its status says otherwise"}},
		"AmountsSwapped": {`UPDATE payments SET amount_fen = amount_fen + 100 WHERE payment_ref = 'R1-1';
			UPDATE payments SET amount_fen = amount_fen - 100 WHERE payment_ref = 'R2-1'`, []string{
			"payment R1-1: its status puts 1001.00 in eligible, the ledger does not",
			"payment R1-1: the ledger leaves 1000.00 in eligible, its status says otherwise",
			"payment R2-1: its status puts 999.00 in eligible, the ledger does not",
			"payment R2-1: the ledger leaves 1000.00 in eligible, its status says otherwise"}},
	} {
		t.Run(name, func(t *testing.T) {
			st := MustOpen(t)
			payable(t, st, 3)
			verify(t, st)
			if _, err := st.DB().Exec(tt.sql); err != nil {
				t.Fatal(err)
			}
			rep, err := st.VerifyLedger(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			got := slices.Clone(rep.Problems)
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("problems:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
	t.Run("TriggersRefuse", func(t *testing.T) {
		st := MustOpen(t)
		payable(t, st, 1)
		for _, sql := range []string{`UPDATE ledger_entries SET memo = 'x'`, `DELETE FROM ledger_entries`,
			`UPDATE ledger_checkpoints SET paid = 0`, `DELETE FROM ledger_checkpoints`} {
			if _, err := st.DB().Exec(sql); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: %v", sql, err)
			}
		}
	})
}

// TestLedgerKeyGuard: a database remembers the key its ledger was chained
// under, so that another key is refused rather than taken for tampering.
func TestLedgerKeyGuard(t *testing.T) {
	ctx := context.Background()
	st := MustOpen(t) // chained under testKey
	payable(t, st, 1)
	var ke *sqlite.LedgerKeyError
	if err := st.SetLedgerKey(ctx, []byte("another key of 32 bytes, not it.")); !errors.As(err, &ke) ||
		!strings.Contains(err.Error(), "not the one this database's ledger was chained with") {
		t.Errorf("another key: %v", err)
	}
	if err := st.SetLedgerKey(ctx, []byte("0123456789abcde")); !errors.As(err, &ke) || !strings.Contains(err.Error(), "too short") {
		t.Errorf("a 15-byte key: %v", err)
	}
	if err := st.SetLedgerKey(ctx, testKey); err != nil {
		t.Errorf("the key again: %v", err)
	}
	verify(t, st) // the refused keys changed nothing
	// Sixteen bytes are enough, for a database not yet chained.
	fresh, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "zhutui.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if err := fresh.SetLedgerKey(ctx, []byte("0123456789abcdef")); err != nil {
		t.Errorf("a 16-byte key: %v", err)
	}
}

// TestVerifyForgetsWhileAReportWalks: zhutui ledger verify finds a bad
// entry while a report is verifying the newest ones. The report, which
// started from the old mark, must not move the mark past the bad entry.
func TestVerifyForgetsWhileAReportWalks(t *testing.T) {
	ctx := context.Background()
	st := MustOpen(t)
	payable(t, st, 2)
	if p, err := st.VerifyNewEntries(ctx); err != nil || len(p) != 0 {
		t.Fatalf("first verification: %v, %v", p, err)
	}
	payable(t, st, 4) // two more entries, not verified yet
	sqlite.SetVerifiedHook(t, func() {
		if err := st.ForgetVerifiedFrom(ctx, 1); err != nil {
			t.Error(err)
		}
	})
	if p, err := st.VerifyNewEntries(ctx); err != nil || len(p) != 0 {
		t.Fatalf("the report's verification: %v, %v", p, err)
	}
	var mark string
	if err := st.DB().Get(&mark, `SELECT coalesce((SELECT value FROM settings WHERE name = 'ledger.verified'), '')`); err != nil {
		t.Fatal(err)
	}
	if mark != "" {
		t.Errorf("the verified mark is %q after ledger verify forgot it: the report moved it on", mark)
	}
}

// TestVerifyWhileARunMovesMoney: a batch is delivered (its payments and
// their postings committed) while zhutui ledger verify is between its walk
// of the chain and its reading of the payments. The verification reads one
// moment, so it finds nothing wrong; the next one sees the new entries.
func TestVerifyWhileARunMovesMoney(t *testing.T) {
	ctx := context.Background()
	st := MustOpen(t)
	batched(t, st, 2)
	if _, err := st.ApproveBatches(ctx, []string{"B2014020101"}, "finance-li"); err != nil {
		t.Fatal(err)
	}
	sqlite.SetLedgerWalkedHook(t, func() {
		sqlite.SetLedgerWalkedHook(t, func() {})
		if err := st.MarkSent(ctx, 2, "B2014020101", []pipeline.Delivery{{Kind: "payment", BatchID: "B2014020101",
			Location: "file:///out", Name: "x"}}); err != nil {
			t.Error(err)
		}
	})
	rep, err := st.VerifyLedger(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("a verification overlapping a delivery found: %v", rep.Problems)
	}
	after, err := st.VerifyLedger(ctx)
	if err != nil || !after.OK() || after.Entries != rep.Entries+2 {
		t.Fatalf("the next verification: %d entries (want %d), %v, %v", after.Entries, rep.Entries+2, after.Problems, err)
	}
}

// TestAlertAfterBatch revokes the certificate of a registration whose
// payment is in a batch: no money moves, the report lists an alert, and so
// does its batch (zhutui batch show), not the other batch.
func TestAlertAfterBatch(t *testing.T) {
	ctx := context.Background()
	st := MustOpen(t)
	payable(t, st, 2)
	if made, err := st.CreateBatches(ctx, 1, spec(1), render); err != nil || len(made) != 2 {
		t.Fatalf("two batches of a line each: %+v, %v", made, err)
	}
	revoked := cert("C1", 0, "2014-02-10 08:00:00")
	revoked.Status = pipeline.CertificateRevoked
	ingestCerts(t, st, revoked)
	got := reconcile(t, st)
	if got["R1"] != "BATCHED [CERT_REVOKED]" {
		t.Fatalf("R1 = %q, want its payment still BATCHED with the failing reason shown", got["R1"])
	}
	sum, err := st.Summary(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Alerts) != 1 || sum.AlertCount != 1 || sum.Alerts[0].RegistrationID != "R1" || sum.Alerts[0].Decision != pipeline.CertRevoked ||
		sum.Alerts[0].PaymentStatus != pipeline.Batched {
		t.Fatalf("alerts = %+v", sum.Alerts)
	}
	if v := sum.Money.Verdict(); v != "RECONCILED" {
		t.Errorf("verdict = %s", v)
	}
	for id, want := range map[string]int{"B2014020101": 1, "B2014020102": 0} {
		if alerts, err := st.BatchAlerts(ctx, id); err != nil || len(alerts) != want || (want == 1 && alerts[0].RegistrationID != "R1") {
			t.Errorf("batch %s's alerts: %+v, %v; want %d (R1's)", id, alerts, err, want)
		}
	}
	verify(t, st)
}

// TestVerifyNewEntriesInStretches cuts the chain into three stretches walked
// at once: a clean chain moves the report's checkpoint to the head; faults
// in two stretches, in the entry where a stretch ends (whose stored hash the
// next one starts from) and an entry missing where a stretch starts are all
// found, in sequence order, and the checkpoint stays.
func TestVerifyNewEntriesInStretches(t *testing.T) {
	ctx := context.Background()
	newLedger := func(t *testing.T) *sqlite.Store {
		sqlite.CutChainSmall(t, 3, 3)
		st := MustOpen(t)
		sentBatch(t, st, 4) // 4 decided, 4 batched, 4 sent: 12 entries
		if n, _, _ := st.LedgerHead(ctx); n != 12 {
			t.Fatalf("ledger has %d entries, want 12", n)
		}
		return st
	}
	checkpoint := func(st *sqlite.Store) string {
		var v string
		st.DB().Get(&v, `SELECT value FROM settings WHERE name = 'ledger.verified'`)
		return v
	}
	t.Run("Clean", func(t *testing.T) {
		st := newLedger(t)
		problems, err := st.VerifyNewEntries(ctx)
		if err != nil || len(problems) != 0 {
			t.Fatalf("problems %v, %v", problems, err)
		}
		_, head, _ := st.LedgerHead(ctx)
		if got := checkpoint(st); got != "12:"+head {
			t.Fatalf("checkpoint %q, want 12:%s", got, head)
		}
	})
	t.Run("Tampered", func(t *testing.T) {
		st := newLedger(t)
		if _, err := st.DB().Exec(`PRAGMA foreign_keys = OFF; DROP TRIGGER ledger_entries_no_update; DROP TRIGGER ledger_entries_no_delete;
			UPDATE ledger_entries SET amount_fen = 1 WHERE seq IN (2, 4, 10); DELETE FROM ledger_entries WHERE seq = 8`); err != nil {
			t.Fatal(err)
		}
		problems, err := st.VerifyNewEntries(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"ledger entry 2 ", "ledger entry 4 ", "ledger entry 9: expected sequence number 8", "ledger entry 10 "}
		if len(problems) != len(want) {
			t.Fatalf("problems %q, want %d", problems, len(want))
		}
		for i, w := range want {
			if !strings.HasPrefix(problems[i], w) {
				t.Errorf("problem %d is %q, want it to start %q", i, problems[i], w)
			}
		}
		if got := checkpoint(st); got != "" {
			t.Errorf("checkpoint moved to %q over a tampered chain", got)
		}
	})
}

// TestResultFile settles a batch from a result file whose lines come in
// another order than the batch's: every payment moves, the ledger takes the
// movements in the file's order, and each notice is its own line's. A
// payment no longer SENT stops the file with nothing applied.
func TestResultFile(t *testing.T) {
	ctx := context.Background()
	st := MustOpen(t)
	data := sentBatch(t, st, 3)
	name, rf := bankAnswers(t, data, map[string]bank.Failure{"R2-1": bank.NoSuchCard})
	slices.Reverse(rf.Lines)
	in := pipeline.InboundFile{Kind: pipeline.KindResults, Location: "file:///in", Name: name, SHA256: "r"}

	before := ledgerLines(t, st, "1")
	if _, err := st.DB().Exec(`UPDATE payments SET status = 'PAID' WHERE payment_ref = 'R1-1'`); err != nil {
		t.Fatal(err)
	}
	if _, err := st.IngestResult(ctx, in, rf); err == nil || !strings.Contains(err.Error(), "payment R1-1 of batch B2014020101 is not SENT") {
		t.Fatalf("a result for a payment not SENT: %v", err)
	}
	var messages int
	st.DB().Get(&messages, `SELECT count(*) FROM messages`)
	if got := statuses(t, st); got["R2"] != "SENT" || got["R3"] != "SENT" || messages != 0 || ledgerLines(t, st, "1") != before {
		t.Fatalf("a refused result file applied something: %v, %d messages", got, messages)
	}

	st.DB().Exec(`UPDATE payments SET status = 'SENT' WHERE payment_ref = 'R1-1'`)
	out, err := st.IngestResult(ctx, in, rf)
	if err != nil || out.Quarantined != "" || out.Applied != 3 {
		t.Fatalf("outcome %+v, %v", out, err)
	}
	if got := statuses(t, st); got["R1"] != "PAID" || got["R2"] != "RETURNED" || got["R3"] != "PAID" {
		t.Errorf("statuses = %v", got)
	}
	var codes []string
	st.DB().Select(&codes, `SELECT payment_ref || ' ' || bank_code || ' ' || bank_message FROM payments ORDER BY payment_ref`)
	if want := []string{"R1-1 0000 成功", "R2-1 1004 卡号不存在", "R3-1 0000 成功"}; !slices.Equal(codes, want) {
		t.Errorf("bank codes = %q, want %q", codes, want)
	}
	if got, want := ledgerLines(t, st, "movement IN ('settle', 'return')"),
		"10 settle R3-1 Dr paid Cr sent 1000.00 B2014020101\n"+
			"11 return R2-1 Dr returned Cr sent 1000.00 B2014020101\n"+
			"12 settle R1-1 Dr paid Cr sent 1000.00 B2014020101\n"; got != want {
		t.Errorf("settlement postings:\n%s want\n%s", got, want)
	}
	var notices []string
	st.DB().Select(&notices, `SELECT message_id || ' ' || kind || ' ' || name || ' ' || mobile || ' ' || card_last4 || ' '
		|| amount_fen || ' ' || bank_message FROM messages ORDER BY rowid`)
	if want := []string{
		"R3-1-paid paid 人2 13800138000 0016 100000 成功",
		"R2-1-returned returned 人1 13800138000 0016 100000 卡号不存在",
		"R1-1-paid paid 人0 13800138000 0016 100000 成功",
	}; !slices.Equal(notices, want) {
		t.Errorf("notices = %q\nwant %q", notices, want)
	}
	verify(t, st)

	// The notices go into one SMS file, by message id, each text its own.
	tpl := pipeline.SMSTemplates{Paid: "{payment_ref} {name} paid", Returned: "{payment_ref} {name} {bank_message}"}
	made, err := st.FileNotices(ctx, 3, tpl)
	if err != nil || !slices.Equal(made, []string{"ZTSMS_B2014020101_1.csv"}) {
		t.Fatalf("SMS files %v, %v", made, err)
	}
	filed, err := st.SMSFile(ctx, made[0])
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, n := range filed {
		texts = append(texts, n.MessageID+": "+n.Content)
	}
	if want := []string{"R1-1-paid: R1-1 人0 paid", "R2-1-returned: R2-1 人1 卡号不存在", "R3-1-paid: R3-1 人2 paid"}; !slices.Equal(texts, want) {
		t.Errorf("SMS file = %q\nwant %q", texts, want)
	}
	if again, err := st.FileNotices(ctx, 4, tpl); err != nil || len(again) != 0 {
		t.Errorf("notices filed twice: %v, %v", again, err)
	}
}

// TestSMSFilesOnce: a notice goes into one SMS file, and only with a mobile
// that can take it (the others are listed for the report); a file delivered
// is not delivered again, and a night with nothing new makes no file.
func TestSMSFilesOnce(t *testing.T) {
	ctx := context.Background()
	st := MustOpen(t)
	data := sentBatch(t, st, 3)
	name, rf := bankAnswers(t, data, map[string]bank.Failure{"R2-1": bank.NoSuchCard})
	in := pipeline.InboundFile{Kind: pipeline.KindResults, Location: "file:///in", Name: name, SHA256: "r"}
	if _, err := st.IngestResult(ctx, in, rf); err != nil {
		t.Fatal(err)
	}
	// R2's member gave no mobile an SMS can reach.
	if _, err := st.DB().Exec(`UPDATE messages SET mobile = '' WHERE message_id = 'R2-1-returned'`); err != nil {
		t.Fatal(err)
	}
	made, err := st.FileNotices(ctx, 3, pipeline.DefaultSMSTemplates)
	if err != nil || !slices.Equal(made, []string{"ZTSMS_B2014020101_1.csv"}) {
		t.Fatalf("SMS files %v, %v", made, err)
	}
	filed, err := st.SMSFile(ctx, made[0])
	if err != nil {
		t.Fatal(err)
	}
	var ids, unreachable []string
	for _, n := range filed {
		ids = append(ids, n.MessageID)
	}
	if err := st.EachNoMobile(ctx, func(n pipeline.Notice) error {
		unreachable = append(unreachable, n.MessageID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, []string{"R1-1-paid", "R3-1-paid"}) || !slices.Equal(unreachable, []string{"R2-1-returned"}) {
		t.Fatalf("filed %q, without a mobile %q", ids, unreachable)
	}
	if todo, err := st.SMSFilesToDeliver(ctx); err != nil || !slices.Equal(todo, made) {
		t.Fatalf("to deliver: %v, %v", todo, err)
	}
	// The start of its delivery is recorded once, by the run that began it.
	if began, err := st.SMSDeliveryRun(ctx, made[0]); err != nil || began != 0 {
		t.Fatalf("delivery run before it began: %d, %v", began, err)
	}
	run, err := st.BeginRun(ctx, pipeline.MustDate("2014-02-03"), pipeline.TriggerManual)
	if err != nil {
		t.Fatal(err)
	}
	var durable []int // the SMS file's two commits before and after it leaves zhutui (see TestDurableCommits)
	sqlite.SetDurableHook(t, func(sync int) { durable = append(durable, sync) })
	if err := st.BeginSMSDelivery(ctx, run, made[0]); err != nil {
		t.Fatal(err)
	}
	if err := st.BeginSMSDelivery(ctx, run, made[0]); err == nil {
		t.Error("a delivery that began could begin again")
	}
	if began, err := st.SMSDeliveryRun(ctx, made[0]); err != nil || began != run {
		t.Fatalf("delivery run: %d, %v; want %d", began, err, run)
	}
	if _, err := st.SMSDeliveryRun(ctx, "ZTSMS_B2014020101_9.csv"); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("delivery run of a file never made: %v", err)
	}
	d := pipeline.Delivery{Kind: "sms", BatchID: "B2014020101", Location: "file:///sms", Name: made[0], SHA256: "s", Size: 1, At: "2014-02-03 02:40:00"}
	if err := st.MarkSMSDelivered(ctx, 3, d); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(durable, []int{2, 2}) {
		t.Errorf("the SMS file's delivery committed with synchronous %v, want FULL (2) twice", durable)
	}
	if todo, err := st.SMSFilesToDeliver(ctx); err != nil || len(todo) != 0 {
		t.Fatalf("to deliver after delivery: %v, %v", todo, err)
	}
	if again, err := st.FileNotices(ctx, 4, pipeline.DefaultSMSTemplates); err != nil || len(again) != 0 {
		t.Errorf("a night with nothing new made SMS files %v, %v", again, err)
	}
}

// TestReturnedPaidAgainWhenCardChanges: a payment the bank returned waits
// until the registration brings another card number or name, then the next
// reconcile makes its next attempt payable, whether the new version came
// after the return or before it (while the payment was still at the bank).
func TestReturnedPaidAgainWhenCardChanges(t *testing.T) {
	for _, newCardFirst := range []bool{false, true} {
		t.Run(map[bool]string{false: "CardAfterReturn", true: "CardBeforeReturn"}[newCardFirst], func(t *testing.T) {
			ctx := context.Background()
			st := MustOpen(t)
			data := sentBatch(t, st, 2)
			fixed := reg("R1", 0, "C1", "2014-02-05 09:00:00")
			fixed.SubmittedAt = at("2014-01-10 09:00:00")
			fixed.CardNumber = "6210670000000000024"
			newCard := func() {
				ingestRegs(t, st, fixed)
				reconcile(t, st)
			}
			if newCardFirst {
				newCard()
			}
			name, rf := bankAnswers(t, data, map[string]bank.Failure{"R1-1": bank.NoSuchCard, "R2-1": bank.CardAbnormal})
			if out, err := st.IngestResult(ctx, pipeline.InboundFile{Kind: pipeline.KindResults, Location: "file:///in", Name: name, SHA256: "r1"}, rf); err != nil || out.Applied != 2 {
				t.Fatalf("result: %+v, %v", out, err)
			}
			if !newCardFirst {
				// Nothing the bank objected to has changed: both wait.
				reconcile(t, st)
				if got := paymentStates(t, st); got != "R1-1 RETURNED, R2-1 RETURNED" {
					t.Fatalf("payments with nothing changed: %s", got)
				}
				newCard()
			} else {
				reconcile(t, st)
			}
			if got := paymentStates(t, st); got != "R1-1 REISSUED, R1-2 ELIGIBLE, R2-1 RETURNED" {
				t.Fatalf("payments after R1's new card: %s", got)
			}
			var memo string
			if err := st.DB().Get(&memo, `SELECT memo FROM ledger_entries WHERE payment_ref = 'R1-1' ORDER BY seq DESC LIMIT 1`); err != nil || memo != "card number or name changed" {
				t.Errorf("the release of R1-1 says %q, %v", memo, err)
			}
			// The next night changes nothing more.
			reconcile(t, st)
			if got := paymentStates(t, st); got != "R1-1 REISSUED, R1-2 ELIGIBLE, R2-1 RETURNED" {
				t.Errorf("payments a night later: %s", got)
			}
			booksAgree(t, st)
		})
	}
}

// TestReturnedPaidAgainWhenNameChanges: the bank returned a payment because
// the account's name differs (1002); the feed and then the member correct
// the name, and the next reconcile pays it again as the next attempt, whose
// batch line carries the new name.
func TestReturnedPaidAgainWhenNameChanges(t *testing.T) {
	ctx := context.Background()
	st := MustOpen(t)
	data := sentBatch(t, st, 1)
	name, rf := bankAnswers(t, data, map[string]bank.Failure{"R1-1": bank.NameMismatch})
	if out, err := st.IngestResult(ctx, pipeline.InboundFile{Kind: pipeline.KindResults, Location: "file:///in", Name: name, SHA256: "r1"}, rf); err != nil || out.Applied != 1 {
		t.Fatalf("result: %+v, %v", out, err)
	}
	c := cert("C1", 0, "2014-02-05 08:00:00")
	c.Name = "人零"
	ingestCerts(t, st, c)
	reconcile(t, st)
	if got := paymentStates(t, st); got != "R1-1 RETURNED" {
		t.Fatalf("payments before the member's correction: %s", got)
	}
	r := reg("R1", 0, "C1", "2014-01-10 09:00:00")
	r.UpdatedAt, r.Name = at("2014-02-06 09:00:00"), c.Name
	ingestRegs(t, st, r)
	reconcile(t, st)
	if got := paymentStates(t, st); got != "R1-1 REISSUED, R1-2 ELIGIBLE" {
		t.Fatalf("payments after the new name: %s", got)
	}
	s := spec(10)
	s.BusinessDate = pipeline.MustDate("2014-02-07")
	made, err := st.CreateBatches(ctx, 3, s, render)
	if err != nil || len(made) != 1 {
		t.Fatalf("the next batch: %+v, %v", made, err)
	}
	b, err := st.Batch(ctx, made[0].ID)
	if err != nil || len(b.Lines) != 1 || b.Lines[0].PaymentRef != "R1-2" || b.Lines[0].Name != "人零" {
		t.Fatalf("the next batch's lines: %+v, %v", b.Lines, err)
	}
	verify(t, st)
}

// A new batch's payments are moved each by its id, not by walking every
// ELIGIBLE payment, which made a night's batches cost the square of their
// number (SQLite chose payments_status for this statement on its own).
func TestBatchMovesPaymentsByID(t *testing.T) {
	plan := queryPlan(t, MustOpen(t), nil, sqlite.BatchPayments, "B2015011001", 1)
	if len(plan) == 0 || plan[0] != "SEARCH payments USING INTEGER PRIMARY KEY (rowid=?)" {
		t.Errorf("plan %q, want each payment by its id", plan)
	}
}

// A registration whose payment entered a batch keeps the place it was paid
// for. When a newer version of it names another certificate, ID number or
// level, another registration of the certificate it was paid for is not paid
// too: before, its place moved with it, and the certificate was paid twice,
// with no alert. It is an alert instead, and no money moves for it until a
// version names its place again.
func TestHeldPlace(t *testing.T) {
	ctx := context.Background()
	// C9 is person 0's other certificate, level 1; C8 is person 1's.
	c9 := cert("C9", 0, "2013-12-01 08:00:00")
	c9.Occupation, c9.Level = "电子计算机调试工", 1
	c8 := cert("C8", 1, "2013-12-01 08:00:00")
	version := func(id string, person int, certNo string, level int, updated string) pipeline.Registration {
		r := reg(id, person, certNo, "2014-01-10 09:00:00")
		r.UpdatedAt = at(updated)
		if level == 1 {
			r.Occupation, r.Level = "电子计算机调试工", 1
		}
		return r
	}
	alerts := func(t *testing.T, st *sqlite.Store) string {
		t.Helper()
		var got []string
		if err := st.EachAlert(ctx, func(a pipeline.Alert) error {
			got = append(got, fmt.Sprintf("%s %s %s [%s] %s", a.PaymentRef, a.PaymentStatus, a.Decision, a.Reasons, a.Change))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return strings.Join(got, "; ")
	}
	t.Run("CertificateAndLevel", func(t *testing.T) {
		st := MustOpen(t)
		ingestCerts(t, st, c9, c8)
		batched(t, st, 1) // R1: person 0, C1, level 2
		later := reg("R2", 0, "C1", "2014-01-21 09:00:00")
		other := version("R3", 0, "C9", 1, "2014-01-22 09:00:00") // the certificate R1 moves to
		other.SubmittedAt = at("2014-01-22 09:00:00")
		ingestRegs(t, st, version("R1", 0, "C9", 1, "2014-01-20 09:00:00"), later, other)
		expect(t, reconcile(t, st), map[string]string{"R1": "BATCHED", "R2": "DUPLICATE_CERTIFICATE [DUPLICATE_CERTIFICATE;PERSON_LEVEL_LIMIT]", "R3": "ELIGIBLE"})
		if got, want := alerts(t, st), "R1-1 BATCHED ELIGIBLE [] certificate C1 → C9; level 2 → 1"; got != want {
			t.Errorf("alerts:\n got %s\nwant %s", got, want)
		}
		if got := paymentStates(t, st); got != "R1-1 BATCHED, R3-1 ELIGIBLE" {
			t.Errorf("payments: %s (C1 paid once, by R1; C9 free for R3)", got)
		}
		// A version naming the place it holds again ends the alert.
		ingestRegs(t, st, version("R1", 0, "C1", 2, "2014-01-25 09:00:00"))
		expect(t, reconcile(t, st), map[string]string{"R1": "BATCHED", "R2": "DUPLICATE_CERTIFICATE [DUPLICATE_CERTIFICATE;PERSON_LEVEL_LIMIT]", "R3": "ELIGIBLE"})
		if got := alerts(t, st); got != "" {
			t.Errorf("alerts after R1 named C1 again: %s", got)
		}
		booksAgree(t, st)
	})
	t.Run("IDNumber", func(t *testing.T) {
		st := MustOpen(t)
		ingestCerts(t, st, c8)
		batched(t, st, 1)
		ingestRegs(t, st, version("R1", 1, "C8", 2, "2014-01-20 09:00:00"), reg("R2", 0, "C1", "2014-01-21 09:00:00"))
		expect(t, reconcile(t, st), map[string]string{"R1": "BATCHED", "R2": "DUPLICATE_CERTIFICATE [DUPLICATE_CERTIFICATE;PERSON_LEVEL_LIMIT]"})
		if got, want := alerts(t, st), "R1-1 BATCHED ELIGIBLE [] certificate C1 → C8; ID number 110105********0016 → 110105********0021"; got != want {
			t.Errorf("alerts:\n got %s\nwant %s", got, want)
		}
		booksAgree(t, st)
	})
	t.Run("IDNumberOfTheSameCertificate", func(t *testing.T) {
		st := MustOpen(t)
		batched(t, st, 1)
		// The feed corrects C1's holder to person 1, and R1 follows it.
		ingestCerts(t, st, cert("C1", 1, "2014-01-20 08:00:00"))
		ingestRegs(t, st, version("R1", 1, "C1", 2, "2014-01-20 09:00:00"))
		expect(t, reconcile(t, st), map[string]string{"R1": "BATCHED"})
		if got, want := alerts(t, st), "R1-1 BATCHED ELIGIBLE [] ID number 110105********0016 → 110105********0021"; got != want {
			t.Errorf("alerts:\n got %s\nwant %s", got, want)
		}
		booksAgree(t, st)
	})
	t.Run("NoMoneyMovesUntilItNamesItsPlace", func(t *testing.T) {
		st := MustOpen(t)
		ingestCerts(t, st, c9, c8)
		data := sentBatch(t, st, 2)
		name, rf := bankAnswers(t, data, map[string]bank.Failure{"R1-1": bank.NoSuchCard, "R2-1": bank.NoSuchCard})
		if _, err := st.IngestResult(ctx, pipeline.InboundFile{Kind: pipeline.KindResults, Location: "file:///in", Name: name, SHA256: "r1"}, rf); err != nil {
			t.Fatal(err)
		}
		// night takes a new version of R1 and checks the payments after it.
		night := func(r pipeline.Registration, want string) {
			t.Helper()
			ingestRegs(t, st, r)
			reconcile(t, st)
			if got := paymentStates(t, st); got != want {
				t.Fatalf("payments after R1's version of %s: %s, want %s", r.UpdatedAt.Format(time.DateTime), got, want)
			}
		}
		// A new card, and another certificate: the returned payment is not paid again.
		moved := version("R1", 0, "C9", 1, "2014-02-05 09:00:00")
		moved.CardNumber = "6210670000000000024"
		night(moved, "R1-1 RETURNED, R2-1 RETURNED")
		if got := alerts(t, st); !strings.HasPrefix(got, "R1-1 RETURNED ELIGIBLE [] certificate C1 → C9") {
			t.Errorf("alerts: %s", got)
		}
		n, skipped, err := st.ReissueBatch(ctx, "B2014020101", "finance-li", "cards closed")
		if err != nil || n != 1 || len(skipped) != 1 || !strings.HasPrefix(skipped[0], "R1-1: the registration now names another certificate") {
			t.Fatalf("reissue: %d, %q, %v; want R2-1 reissued and R1-1 skipped", n, skipped, err)
		}
		// Back on C1 with the new card: paid again as the next attempt.
		back := version("R1", 0, "C1", 2, "2014-02-06 09:00:00")
		back.CardNumber = moved.CardNumber
		night(back, "R1-1 REISSUED, R1-2 ELIGIBLE, R2-1 REISSUED, R2-2 ELIGIBLE")
		// Moving again before that attempt is in a batch withdraws it; back, it is revived.
		moved.UpdatedAt = at("2014-02-07 09:00:00")
		night(moved, "R1-1 REISSUED, R1-2 CANCELLED, R2-1 REISSUED, R2-2 ELIGIBLE")
		back.UpdatedAt = at("2014-02-08 09:00:00")
		night(back, "R1-1 REISSUED, R1-2 ELIGIBLE, R2-1 REISSUED, R2-2 ELIGIBLE")
		// The same for a move that keeps the amount: person 1's certificate of level 2.
		toC8 := version("R1", 1, "C8", 2, "2014-02-09 09:00:00")
		toC8.CardNumber = moved.CardNumber
		night(toC8, "R1-1 REISSUED, R1-2 CANCELLED, R2-1 REISSUED, R2-2 ELIGIBLE")
		booksAgree(t, st)
	})
	// rejected rejects batch id and reconciles: the statuses and payments
	// are as wanted, with no alert, and the books agree.
	rejected := func(t *testing.T, st *sqlite.Store, id string, statuses map[string]string, payments string) {
		t.Helper()
		if err := st.RejectBatch(ctx, id, "finance-li", "wrong value date"); err != nil {
			t.Fatal(err)
		}
		expect(t, reconcile(t, st), statuses)
		if got := paymentStates(t, st); got != payments {
			t.Errorf("payments after the reject: %s, want %s", got, payments)
		}
		if got := alerts(t, st); got != "" {
			t.Errorf("alerts after the reject: %s", got)
		}
		booksAgree(t, st)
	}
	t.Run("RejectedBatchFreesThePlace", func(t *testing.T) {
		st := MustOpen(t)
		ingestCerts(t, st, c9)
		batched(t, st, 1)
		ingestRegs(t, st, version("R1", 0, "C9", 1, "2014-01-20 09:00:00"), reg("R2", 0, "C1", "2014-01-21 09:00:00"))
		reconcile(t, st)
		rejected(t, st, "B2014020101", map[string]string{"R1": "ELIGIBLE", "R2": "ELIGIBLE"}, "R1-1 ELIGIBLE, R2-1 ELIGIBLE")
	})
	// A rejected batch frees only the places it gave: a reissued attempt's
	// registration was in a batch delivered to the bank before (its first
	// attempt, returned), and keeps its place when the batch of its next
	// attempt is rejected. Before, the reject freed it, and an earlier
	// submission of the same certificate that arrived later took the place.
	t.Run("RejectedReissueKeepsThePlace", func(t *testing.T) {
		st := MustOpen(t)
		data := sentBatch(t, st, 1) // R1-1 in B2014020101, sent
		name, rf := bankAnswers(t, data, map[string]bank.Failure{"R1-1": bank.CardAbnormal})
		if _, err := st.IngestResult(ctx, pipeline.InboundFile{Kind: pipeline.KindResults, Location: "file:///in", Name: name, SHA256: "r"}, rf); err != nil {
			t.Fatal(err)
		}
		if n, _, err := st.ReissueBatch(ctx, "B2014020101", "finance-li", "bank fixed the card"); err != nil || n != 1 {
			t.Fatalf("reissue: %d %v", n, err)
		}
		made, err := st.CreateBatches(ctx, 3, spec(10), render)
		if err != nil || len(made) != 1 {
			t.Fatalf("the reissued attempt's batch: %+v, %v", made, err)
		}
		if got := paymentStates(t, st); got != "R1-1 REISSUED, R1-2 BATCHED" {
			t.Fatalf("payments in the second batch: %s", got)
		}
		// R0 names C1 too, submitted before R1, and arrives now.
		ingestRegs(t, st, reg("R0", 0, "C1", "2014-01-09 09:00:00"))
		expect(t, reconcile(t, st), map[string]string{"R0": "DUPLICATE_CERTIFICATE [DUPLICATE_CERTIFICATE;PERSON_LEVEL_LIMIT]", "R1": "BATCHED"})
		// R1 keeps its place; R0 is not paid.
		rejected(t, st, made[0].ID, map[string]string{"R0": "DUPLICATE_CERTIFICATE [DUPLICATE_CERTIFICATE;PERSON_LEVEL_LIMIT]", "R1": "ELIGIBLE"},
			"R1-1 REISSUED, R1-2 ELIGIBLE")
	})
}

// TestMoneyCheckUnansweredBatch: a payment of a sent batch marked PAID with
// no result file taken (behind zhutui's back here) is named in the money
// check by its batch too: §4.4's settled = the bank's confirmed total, none
// before the bank answers.
func TestMoneyCheckUnansweredBatch(t *testing.T) {
	st := MustOpen(t)
	sentBatch(t, st, 3)
	booksAgree(t, st)
	if _, err := st.DB().Exec(`UPDATE payments SET status = 'PAID' WHERE payment_ref = 'R1-1'`); err != nil {
		t.Fatal(err)
	}
	m, err := st.MoneyCheck(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p := m.Problems(); !slices.Contains(p, "batch B2014020101: settled 1000.00 and returned 0.00, but the bank has not answered it (no result file taken)") {
		t.Errorf("problems = %q", p)
	}
}

// TestDurableCommits: the commits after which something leaves zhutui that
// cannot be called back, or that record what a person decided, are synced
// to the disk before they return (synchronous FULL), where the others may be
// lost to a power cut (NORMAL): a batch's delivery begun (the sidecar follows,
// and the bank pays), recorded sent (the anchor line follows), approved,
// rejected, reissued. Lost, a delivery's start let the batch be rejected and
// paid again, and a reject let a rejected batch be delivered. The connection
// goes back to NORMAL after each.
func TestDurableCommits(t *testing.T) {
	ctx := context.Background()
	st := MustOpen(t)
	payable(t, st, 3)
	if _, err := st.CreateBatches(ctx, 1, spec(2), render); err != nil {
		t.Fatal(err)
	}
	var durable []int
	sqlite.SetDurableHook(t, func(sync int) { durable = append(durable, sync) })
	if _, err := st.ApproveBatches(ctx, []string{"B2014020101"}, "finance-li"); err != nil {
		t.Fatal(err)
	}
	if err := st.RejectBatch(ctx, "B2014020102", "finance-li", "wrong month"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.BeginDelivery(ctx, 1, "B2014020101", "file:///out"); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkSent(ctx, 2, "B2014020101", []pipeline.Delivery{{Kind: "payment", BatchID: "B2014020101", Location: "file:///out", Name: "x"}}); err != nil {
		t.Fatal(err)
	}
	_, rf := bankAnswers(t, paymentFile(t, st, "B2014020101"), map[string]bank.Failure{"R1-1": bank.AccountClosed})
	if _, err := st.IngestResult(ctx, pipeline.InboundFile{Kind: pipeline.KindResults, Location: "file:///in", Name: "ZTRES_B2014020101.txt",
		SHA256: "r"}, rf); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.ReissueBatch(ctx, "B2014020101", "finance-li", "card closed"); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(durable, []int{2, 2, 2, 2, 2}) {
		t.Fatalf("approve, reject, delivery begun, sent and reissue committed with synchronous %v, want FULL (2) each", durable)
	}
	// Every connection of the pool is back to NORMAL (1): holding four at
	// once takes every idle one (database/sql keeps two idle; the store does
	// not change that), the durable transactions' among them.
	var conns []*sqlx.Conn
	for range 4 {
		c, err := st.DB().Connx(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var sync int
		if err := c.GetContext(ctx, &sync, `PRAGMA synchronous`); err != nil || sync != 1 {
			t.Errorf("a connection of the pool has synchronous %d (%v), want NORMAL (1)", sync, err)
		}
	}
	for _, c := range conns {
		c.Close()
	}
}
