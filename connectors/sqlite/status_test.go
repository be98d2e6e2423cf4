package sqlite_test

import (
	"context"
	"slices"
	"testing"

	"zhutui/pipeline"
)

// TestStatusWaiting: zhutui status counts the registrations waiting for a
// station's check and for their certificate, each with its oldest.
func TestStatusWaiting(t *testing.T) {
	ctx := context.Background()
	st := MustOpen(t)
	unchecked := reg("R1", 0, "C1", "2014-01-12 09:00:00")
	unchecked.Verification = pipeline.VerificationPending
	older := reg("R2", 1, "C2", "2014-01-10 09:00:00")
	older.Verification = pipeline.VerificationPending
	ingestRegs(t, st, unchecked, older, reg("R3", 2, "C9", "2014-01-11 09:00:00"), reg("R4", 3, "C8", "2014-01-13 09:00:00"))
	ingestCerts(t, st, cert("C1", 0, "2013-12-01 08:00:00"), cert("C2", 1, "2013-12-01 08:00:00"))
	reconcile(t, st)
	r, err := st.Status(ctx, 5, "here")
	if err != nil {
		t.Fatal(err)
	}
	want := []pipeline.Waiting{
		{Status: pipeline.PendingVerification, Count: 2, OldestSubmitted: "2014-01-10 09:00:00"},
		{Status: pipeline.PendingCertificate, Count: 2, OldestSubmitted: "2014-01-11 09:00:00"},
	}
	if !slices.Equal(r.Waiting, want) {
		t.Errorf("waiting = %+v, want %+v", r.Waiting, want)
	}
}
