package sqlite_test

import (
	"bytes"
	"context"
	"testing"

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
