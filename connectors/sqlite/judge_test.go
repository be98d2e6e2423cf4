package sqlite_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"zhutui/connectors/csvfile"
	"zhutui/fixtures/synth"
	"zhutui/pipeline"
)

// A first night judges every registration on a connection of its own while
// its transaction writes the decisions; it must read exactly what reading
// in chunks inside the transaction reads, and not the transaction's
// uncommitted writes.
func TestJudgeAsideReadsWhatTheTransactionSees(t *testing.T) {
	st := MustOpen(t)
	ctx := context.Background()
	p, err := st.Programme(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var regs, certs bytes.Buffer
	if err := synth.Write(synth.Options{Registrations: 9000, Seed: 7, Exceptions: 0.3, Programme: p}, &regs, &certs); err != nil {
		t.Fatal(err)
	}
	if _, err := st.IngestCertificates(ctx, file(pipeline.KindCertificates), csvfile.Certificates("certs.csv", &certs, csvfile.UTF8)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.IngestRegistrations(ctx, file(pipeline.KindRegistrations), csvfile.Registrations("regs.csv", &regs, csvfile.UTF8)); err != nil {
		t.Fatal(err)
	}
	reconcile(t, st) // decisions exist: their groups are read too

	inTx, aside, err := st.JudgedBothWays(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(inTx) != 9000 {
		t.Fatalf("read %d registrations in the transaction, want 9000", len(inTx))
	}
	if len(aside) != len(inTx) {
		t.Fatalf("read %d registrations aside, %d in the transaction", len(aside), len(inTx))
	}
	for i := range inTx {
		if aside[i] != inTx[i] {
			t.Fatalf("registration %d differs:\n in the transaction %s\n aside              %s", i, inTx[i], aside[i])
		}
	}
}

// A first night cut off while judging (its context cancelled, a write that
// failed) stops the reader and the judge goroutines aside, which may be
// blocked sending chunks nobody takes.
func TestJudgeAsideStops(t *testing.T) {
	st := MustOpen(t)
	ctx := context.Background()
	p, err := st.Programme(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var regs, certs bytes.Buffer
	// More than the chunks both channels hold, so that both goroutines block.
	if err := synth.Write(synth.Options{Registrations: 30000, Seed: 7, Programme: p}, &regs, &certs); err != nil {
		t.Fatal(err)
	}
	if _, err := st.IngestRegistrations(ctx, file(pipeline.KindRegistrations), csvfile.Registrations("regs.csv", &regs, csvfile.UTF8)); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var n int
	go func() {
		defer close(done)
		n, err = st.JudgeAsideStopped(ctx, p)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("stop did not return within a minute")
	}
	if err != nil || n == 0 {
		t.Fatalf("first chunk: %d registrations, %v", n, err)
	}
	// Once stop returns, the reader has let go of its connection.
	if inUse := st.DB().Stats().InUse; inUse != 0 {
		t.Errorf("%d connections in use after stop", inUse)
	}
}
