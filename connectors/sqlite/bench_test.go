package sqlite_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"zhutui/connectors/csvfile"
	"zhutui/connectors/sqlite"
	"zhutui/fixtures/bank"
	"zhutui/fixtures/synth"
	"zhutui/pipeline"
)

// BenchmarkSettle takes the bank's answer to a 10,000-line batch, one line
// in fifty returned: the payments move, the ledger takes the postings and
// the notices are recorded (ns/line). Done line by line, this cost grew with
// the batch: each notice walked the batch's lines.
func BenchmarkSettle(b *testing.B) {
	ctx := context.Background()
	var spent time.Duration
	var lines int
	for range b.N {
		b.StopTimer()
		st, rf := answeredBatch(b, 10_000)
		b.StartTimer()
		start := time.Now()
		out, err := st.IngestResult(ctx, pipeline.InboundFile{Kind: pipeline.KindResults, Location: "file:///in",
			Name: "ZTRES.txt", SHA256: "r"}, rf)
		spent += time.Since(start)
		if err != nil || out.Applied != len(rf.Lines) {
			b.Fatalf("%+v, %v", out, err)
		}
		lines += len(rf.Lines)
	}
	b.ReportMetric(float64(spent.Nanoseconds())/float64(lines), "ns/line")
}

// answeredBatch is a store with one SENT batch of up to n synthetic payments,
// and the bank's result file for it.
func answeredBatch(tb testing.TB, n int) (*sqlite.Store, *pipeline.ResultFile) {
	ctx := context.Background()
	s := MustOpen(tb)
	p, err := s.Programme(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	var regs, certs bytes.Buffer
	if err := synth.Write(synth.Options{Registrations: n + n/10, Seed: 3, Programme: p}, &regs, &certs); err != nil {
		tb.Fatal(err)
	}
	if _, err := s.IngestCertificates(ctx, file(pipeline.KindCertificates), csvfile.Certificates("certs.csv", &certs, csvfile.UTF8)); err != nil {
		tb.Fatal(err)
	}
	if _, err := s.IngestRegistrations(ctx, file(pipeline.KindRegistrations), csvfile.Registrations("regs.csv", &regs, csvfile.UTF8)); err != nil {
		tb.Fatal(err)
	}
	reconcile(tb, s)
	made, err := s.CreateBatches(ctx, 1, spec(n), render)
	if err != nil || len(made) == 0 {
		tb.Fatalf("batches %v, %v", made, err)
	}
	id := made[0].ID
	if _, err := s.ApproveBatches(ctx, []string{id}, "finance-li"); err != nil {
		tb.Fatal(err)
	}
	batch, err := s.Batch(ctx, id)
	if err != nil {
		tb.Fatal(err)
	}
	data, err := render(batch)
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.MarkSent(ctx, 2, id, []pipeline.Delivery{{Kind: "payment", BatchID: id, Location: "file:///out", Name: "x"}}); err != nil {
		tb.Fatal(err)
	}
	fail := map[string]bank.Failure{}
	for _, l := range batch.Lines {
		if l.Seq%50 == 0 {
			fail[l.PaymentRef] = bank.AccountClosed
		}
	}
	_, rf := bankAnswers(tb, data, fail)
	return s, rf
}
