package sqlite_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"zhutui/connectors/csvfile"
	"zhutui/connectors/sqlite"
	"zhutui/fixtures/synth"
	"zhutui/pipeline"
)

// synthStore is a store holding n generated registrations (and their
// certificates, with certs) in a share of exceptions, and its programme.
func synthStore(t *testing.T, n int, exceptions float64, certs bool) (*sqlite.Store, *pipeline.Programme) {
	t.Helper()
	st := MustOpen(t)
	ctx := context.Background()
	p, err := st.Programme(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var regFile, certFile bytes.Buffer
	if err := synth.Write(synth.Options{Registrations: n, Seed: 7, Exceptions: exceptions, Programme: p}, &regFile, &certFile); err != nil {
		t.Fatal(err)
	}
	if certs {
		if _, err := st.IngestCertificates(ctx, file(pipeline.KindCertificates), csvfile.Certificates("certs.csv", &certFile, csvfile.UTF8)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.IngestRegistrations(ctx, file(pipeline.KindRegistrations), csvfile.Registrations("regs.csv", &regFile, csvfile.UTF8)); err != nil {
		t.Fatal(err)
	}
	return st, p
}

// A first night judges every registration on a connection of its own while
// its transaction writes the decisions; it must read exactly what reading
// in chunks inside the transaction reads, and not the transaction's
// uncommitted writes.
func TestJudgeAsideReadsWhatTheTransactionSees(t *testing.T) {
	ctx := context.Background()
	st, p := synthStore(t, 9000, 0.3, true)
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
	// More than the chunks both channels hold, so that both goroutines block.
	st, p := synthStore(t, 30000, 0, false)
	// The reader takes its time to let go of its connection, so that a stop
	// that did not wait for it would return while it still holds it.
	sqlite.SetReaderExitsHook(t, func() { time.Sleep(100 * time.Millisecond) })
	done := make(chan struct{})
	var n int
	var err error
	go func() {
		defer close(done)
		n, err = st.JudgeAsideStopped(context.Background(), p)
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
