package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"zhutui/connectors/sqlite"
	"zhutui/fixtures"
	"zhutui/pipeline"
)

// MustOpen opens a new database in a temporary folder with the 2013
// programme loaded.
func MustOpen(tb testing.TB) *sqlite.Store {
	tb.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "zhutui.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	st.Now = func() time.Time { return time.Date(2014, 2, 1, 2, 30, 0, 0, pipeline.Beijing) }
	p, err := pipeline.ParseProgramme(fixtures.Programme2013)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := st.LoadProgramme(ctx, p); err != nil {
		tb.Fatal(err)
	}
	if err := st.SetLedgerKey(ctx, testKey); err != nil {
		tb.Fatal(err)
	}
	return st
}

var testKey = []byte("test ledger key, 32 bytes long..")

func at(s string) time.Time {
	t, err := pipeline.ParseTime(s)
	if err != nil {
		panic(err)
	}
	return t
}

// ids are valid resident ID numbers for tests.
var ids = []string{"110105198001010016", "110105198002020021", "110105198003030037", "110105198004040042"}

// reg returns a registration that passes every rule with cert(n).
func reg(id string, person int, certNo, submitted string) pipeline.Registration {
	return pipeline.Registration{
		ID: id, UpdatedAt: at(submitted), SubmittedAt: at(submitted), Name: fmt.Sprintf("人%d", person),
		IDNumber: ids[person], CardNumber: "6210670000000000016", Mobile: "13800138000", CertificateNumber: certNo,
		Occupation: "电子计算机维修工", Level: 2, IssueDate: pipeline.MustDate("2013-11-05"), Station: "东城区服务站",
		Verification: pipeline.VerificationPassed,
	}
}

func cert(certNo string, person int, updated string) pipeline.Certificate {
	return pipeline.Certificate{
		Number: certNo, IDNumber: ids[person], Name: fmt.Sprintf("人%d", person), Occupation: "电子计算机维修工", Level: 2,
		IssueDate: pipeline.MustDate("2013-11-05"), AuthorityCode: "110105001", Status: pipeline.CertificateValid,
		UpdatedAt: at(updated),
	}
}

var fileSeq int

func file(kind pipeline.FileKind) pipeline.InboundFile {
	fileSeq++
	return pipeline.InboundFile{Kind: kind, Location: "file:///test", Name: fmt.Sprintf("f%d.csv", fileSeq),
		SHA256: fmt.Sprintf("%064d", fileSeq), Encoding: "utf-8"}
}

func ingestRegs(tb testing.TB, st *sqlite.Store, regs ...pipeline.Registration) pipeline.FileOutcome {
	tb.Helper()
	out, err := st.IngestRegistrations(context.Background(), file(pipeline.KindRegistrations),
		func(row pipeline.RegistrationSink, reject pipeline.RejectSink) error {
			for i := range regs {
				if err := row(i+2, &regs[i]); err != nil {
					return err
				}
			}
			return nil
		})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func ingestCerts(tb testing.TB, st *sqlite.Store, certs ...pipeline.Certificate) pipeline.FileOutcome {
	tb.Helper()
	out, err := st.IngestCertificates(context.Background(), file(pipeline.KindCertificates),
		func(row pipeline.CertificateSink, reject pipeline.RejectSink) error {
			for i := range certs {
				if err := row(i+2, &certs[i]); err != nil {
					return err
				}
			}
			return nil
		})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// reconcile runs a reconcile and returns every registration's status and reasons.
func reconcile(tb testing.TB, st *sqlite.Store) map[string]string {
	tb.Helper()
	ctx := context.Background()
	p, err := st.Programme(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	id, err := st.BeginRun(ctx, pipeline.MustDate("2014-02-01"), pipeline.TriggerManual)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := st.Reconcile(ctx, id, p); err != nil {
		tb.Fatal(err)
	}
	return statuses(tb, st)
}

func statuses(tb testing.TB, st *sqlite.Store) map[string]string {
	got := map[string]string{}
	err := st.EachRegistration(context.Background(), func(l pipeline.RegistrationLine) error {
		got[l.RegistrationID] = string(l.Status)
		if l.Reasons != "" && l.Reasons != string(l.Status) {
			got[l.RegistrationID] += " [" + l.Reasons + "]"
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return got
}

func expect(tb testing.TB, got map[string]string, want map[string]string) {
	tb.Helper()
	for k, w := range want {
		if got[k] != w {
			tb.Errorf("%s: got %q, want %q", k, got[k], w)
		}
	}
}

func TestVersions(t *testing.T) {
	t.Run("OlderVersionChangesNothing", func(t *testing.T) {
		st := MustOpen(t)
		ingestCerts(t, st, cert("C1", 0, "2013-12-01 08:00:00"))
		newer := reg("R1", 0, "C1", "2014-01-10 09:00:00")
		newer.UpdatedAt = at("2014-01-20 09:00:00")
		if out := ingestRegs(t, st, newer); out.Applied != 1 {
			t.Fatalf("applied = %d", out.Applied)
		}
		older := reg("R1", 0, "C1", "2014-01-10 09:00:00")
		older.Verification = pipeline.VerificationRejected
		if out := ingestRegs(t, st, older); out.Applied != 0 || out.Unchanged != 1 {
			t.Fatalf("older version: %+v", out)
		}
		if out := ingestRegs(t, st, newer); out.Applied != 0 || out.Unchanged != 1 || out.Rejected != 0 {
			t.Fatalf("the same version again: %+v", out)
		}
		// An equal version with other content changes nothing either, and
		// is not dropped unseen: it is rejected, naming the version taken.
		equal := newer
		equal.Verification = pipeline.VerificationRejected
		out := ingestRegs(t, st, equal)
		if out.Applied != 0 || out.Unchanged != 0 || out.Rejected != 1 || len(out.Rejects) != 1 ||
			out.Rejects[0].Field != "updated_at" || out.Rejects[0].Line != 2 ||
			!regexp.MustCompile(`^registration R1: its version of 2014-01-20 09:00:00 was taken with other content \(f\d+\.csv line 2\); a changed row needs a later updated_at$`).MatchString(out.Rejects[0].Reason) {
			t.Fatalf("equal version, other content: %+v", out)
		}
		var rejects int
		if err := st.DB().Get(&rejects, `SELECT count(*) FROM rejects WHERE field = 'updated_at' AND reason LIKE 'registration R1: its version%'`); err != nil || rejects != 1 {
			t.Errorf("rejects recorded = %d, %v", rejects, err)
		}
		expect(t, reconcile(t, st), map[string]string{"R1": "ELIGIBLE"})
		var history int
		if err := st.DB().Get(&history, `SELECT count(*) FROM registration_versions WHERE registration_id = 'R1'`); err != nil || history != 2 {
			t.Errorf("history rows = %d, %v; want 2 (newer and older kept)", history, err)
		}
	})
	t.Run("EqualVersionsInOneFile", func(t *testing.T) {
		// A certificate revoked without a later updated_at, in the same
		// file as the version it corrects: the first row stands, the
		// second is rejected, and the rows around them are applied.
		st := MustOpen(t)
		revoked := cert("C1", 0, "2013-12-01 08:00:00")
		revoked.Status = pipeline.CertificateRevoked
		out := ingestCerts(t, st, cert("C1", 0, "2013-12-01 08:00:00"), cert("C2", 1, "2013-12-01 08:00:00"), revoked,
			cert("C2", 1, "2013-12-01 08:00:00"))
		if out.Applied != 2 || out.Unchanged != 1 || out.Rejected != 1 || out.Rejects[0].Line != 4 ||
			!strings.Contains(out.Rejects[0].Reason, "certificate C1: its version of 2013-12-01 08:00:00 was taken with other content (") ||
			!strings.Contains(out.Rejects[0].Reason, ".csv line 2)") {
			t.Fatalf("%+v", out)
		}
		ingestRegs(t, st, reg("R1", 0, "C1", "2014-01-10 09:00:00"))
		expect(t, reconcile(t, st), map[string]string{"R1": "ELIGIBLE"})
	})
	t.Run("FileOrderDoesNotMatter", func(t *testing.T) {
		st := MustOpen(t)
		v1 := reg("R1", 0, "C1", "2014-01-10 09:00:00")
		v1.Verification = pipeline.VerificationPending
		v2 := reg("R1", 0, "C1", "2014-01-10 09:00:00")
		v2.UpdatedAt = at("2014-01-12 09:00:00")
		ingestRegs(t, st, v2) // the newer file first
		ingestRegs(t, st, v1)
		ingestCerts(t, st, cert("C1", 0, "2013-12-01 08:00:00"))
		expect(t, reconcile(t, st), map[string]string{"R1": "ELIGIBLE"})
	})
	t.Run("RevokedThenReinstated", func(t *testing.T) {
		st := MustOpen(t)
		ingestRegs(t, st, reg("R1", 0, "C1", "2014-01-10 09:00:00"))
		revoked := cert("C1", 0, "2013-12-20 08:00:00")
		revoked.Status = pipeline.CertificateRevoked
		ingestCerts(t, st, cert("C1", 0, "2013-12-01 08:00:00"), revoked)
		expect(t, reconcile(t, st), map[string]string{"R1": "CERT_REVOKED"})
		ingestCerts(t, st, cert("C1", 0, "2014-01-25 08:00:00"))
		expect(t, reconcile(t, st), map[string]string{"R1": "ELIGIBLE"})
	})
	t.Run("PendingCertificateArrives", func(t *testing.T) {
		st := MustOpen(t)
		ingestRegs(t, st, reg("R1", 0, " c1 ", "2014-01-10 09:00:00"))
		expect(t, reconcile(t, st), map[string]string{"R1": "PENDING_CERTIFICATE"})
		ingestCerts(t, st, cert("C1", 0, "2014-01-25 08:00:00"))
		expect(t, reconcile(t, st), map[string]string{"R1": "ELIGIBLE"})
	})
}

func TestFirstCome(t *testing.T) {
	t.Run("TwoRegistrationsOfOneCertificate", func(t *testing.T) {
		st := MustOpen(t)
		ingestCerts(t, st, cert("C1", 0, "2013-12-01 08:00:00"))
		ingestRegs(t, st, reg("R2", 0, "C1", "2014-01-11 09:00:00"))
		expect(t, reconcile(t, st), map[string]string{"R2": "ELIGIBLE"})
		// An earlier submission that arrives later wins while nothing is batched.
		ingestRegs(t, st, reg("R1", 0, "C1", "2014-01-10 09:00:00"))
		expect(t, reconcile(t, st), map[string]string{"R1": "ELIGIBLE", "R2": "DUPLICATE_CERTIFICATE [DUPLICATE_CERTIFICATE;PERSON_LEVEL_LIMIT]"})
	})
	t.Run("SameTimeSmallerIDWins", func(t *testing.T) {
		st := MustOpen(t)
		ingestCerts(t, st, cert("C1", 0, "2013-12-01 08:00:00"))
		ingestRegs(t, st, reg("R9", 0, "C1", "2014-01-10 09:00:00"), reg("R10", 0, "C1", "2014-01-10 09:00:00"))
		// "R10" < "R9" as text: the registration system's ids compare as text.
		expect(t, reconcile(t, st), map[string]string{"R10": "ELIGIBLE", "R9": "DUPLICATE_CERTIFICATE [DUPLICATE_CERTIFICATE;PERSON_LEVEL_LIMIT]"})
	})
	// The same whichever was decided first (the order of the decisions'
	// rows), and with the two rules apart (person 1's certificate, the
	// person rule among the registrations of other persons).
	for _, first := range []string{"R9", "R10"} {
		t.Run("SameTimeArrivingApart/"+first+"First", func(t *testing.T) {
			st := MustOpen(t)
			ingestCerts(t, st, cert("C1", 1, "2013-12-01 08:00:00"))
			second := map[string]string{"R9": "R10", "R10": "R9"}[first]
			ingestRegs(t, st, reg(first, 1, "C1", "2014-01-10 09:00:00"))
			expect(t, reconcile(t, st), map[string]string{first: "ELIGIBLE"})
			ingestRegs(t, st, reg(second, 1, "C1", "2014-01-10 09:00:00"))
			expect(t, reconcile(t, st), map[string]string{"R10": "ELIGIBLE", "R9": "DUPLICATE_CERTIFICATE [DUPLICATE_CERTIFICATE;PERSON_LEVEL_LIMIT]"})
		})
	}
	t.Run("IneligibleFirstDoesNotBlock", func(t *testing.T) {
		st := MustOpen(t)
		ingestCerts(t, st, cert("C1", 0, "2013-12-01 08:00:00"))
		first := reg("R1", 0, "C1", "2014-01-10 09:00:00")
		first.Verification = pipeline.VerificationPending
		ingestRegs(t, st, first, reg("R2", 0, "C1", "2014-01-11 09:00:00"))
		expect(t, reconcile(t, st), map[string]string{"R1": "PENDING_VERIFICATION [PENDING_VERIFICATION;DUPLICATE_CERTIFICATE;PERSON_LEVEL_LIMIT]", "R2": "ELIGIBLE"})
		// Once verified, the earlier submission wins (nothing is batched yet).
		first.Verification, first.UpdatedAt = pipeline.VerificationPassed, at("2014-01-20 09:00:00")
		ingestRegs(t, st, first)
		expect(t, reconcile(t, st), map[string]string{"R1": "ELIGIBLE", "R2": "DUPLICATE_CERTIFICATE [DUPLICATE_CERTIFICATE;PERSON_LEVEL_LIMIT]"})
	})
	// Submission time comes before the registration id, in both rules.
	t.Run("EarlierSubmissionBeforeSmallerID", func(t *testing.T) {
		st := MustOpen(t)
		ingestCerts(t, st, cert("C1", 0, "2013-12-01 08:00:00"), cert("C2", 1, "2013-12-01 08:00:00"), cert("C3", 1, "2013-12-01 08:00:00"))
		ingestRegs(t, st, reg("R1", 0, "C1", "2014-01-11 09:00:00"), reg("R2", 0, "C1", "2014-01-10 09:00:00"),
			reg("R3", 1, "C2", "2014-01-11 09:00:00"), reg("R4", 1, "C3", "2014-01-10 09:00:00"))
		expect(t, reconcile(t, st), map[string]string{"R1": "DUPLICATE_CERTIFICATE [DUPLICATE_CERTIFICATE;PERSON_LEVEL_LIMIT]", "R2": "ELIGIBLE",
			"R3": "PERSON_LEVEL_LIMIT", "R4": "ELIGIBLE"})
	})
	t.Run("OnePersonTwoLevel2Certificates", func(t *testing.T) {
		st := MustOpen(t)
		ingestCerts(t, st, cert("C1", 0, "2013-12-01 08:00:00"), cert("C2", 0, "2013-12-01 08:00:00"))
		ingestRegs(t, st, reg("R1", 0, "C1", "2014-01-10 09:00:00"), reg("R2", 0, "C2", "2014-01-15 09:00:00"))
		expect(t, reconcile(t, st), map[string]string{"R1": "ELIGIBLE", "R2": "PERSON_LEVEL_LIMIT"})
	})
	// A duplicate does not count against its person, even when it leads its
	// person's group: here the feed names another holder of C1 after R1
	// (person 0) entered a batch with it, so R2, person 1's registration of
	// C1, is payable by rules 1-17 but a duplicate, and person 1 has nothing
	// else that counts.
	t.Run("PayableDuplicateDoesNotLimitItsPerson", func(t *testing.T) {
		st := MustOpen(t)
		batched(t, st, 1) // R1: person 0, C1, level 2
		ingestCerts(t, st, cert("C1", 1, "2014-01-20 08:00:00"), cert("C3", 1, "2013-12-01 08:00:00"))
		waiting := reg("R3", 1, "C3", "2014-01-22 09:00:00")
		waiting.Verification = pipeline.VerificationPending
		ingestRegs(t, st, reg("R2", 1, "C1", "2014-01-21 09:00:00"), waiting)
		expect(t, reconcile(t, st), map[string]string{"R2": "DUPLICATE_CERTIFICATE", "R3": "PENDING_VERIFICATION"})
	})
	t.Run("OnePersonSameTimeSmallerIDWins", func(t *testing.T) {
		st := MustOpen(t)
		ingestCerts(t, st, cert("C1", 0, "2013-12-01 08:00:00"), cert("C2", 0, "2013-12-01 08:00:00"))
		ingestRegs(t, st, reg("R9", 0, "C1", "2014-01-10 09:00:00"), reg("R10", 0, "C2", "2014-01-10 09:00:00"))
		expect(t, reconcile(t, st), map[string]string{"R10": "ELIGIBLE", "R9": "PERSON_LEVEL_LIMIT"})
	})
	// R1 corrects its certificate number to another person's certificate: it
	// now mismatches there, and R2, marked a duplicate, is alone with C1;
	// the same when every registration is judged again (all groups at once).
	for _, all := range []bool{false, true} {
		t.Run(fmt.Sprintf("LeavingAGroupFreesIt/all=%v", all), func(t *testing.T) {
			st := MustOpen(t)
			ingestCerts(t, st, cert("C1", 0, "2013-12-01 08:00:00"), cert("C2", 1, "2013-12-01 08:00:00"))
			ingestRegs(t, st, reg("R1", 0, "C1", "2014-01-10 09:00:00"), reg("R2", 0, "C1", "2014-01-11 09:00:00"))
			expect(t, reconcile(t, st), map[string]string{"R2": "DUPLICATE_CERTIFICATE [DUPLICATE_CERTIFICATE;PERSON_LEVEL_LIMIT]"})
			moved := reg("R1", 0, "C2", "2014-01-10 09:00:00")
			moved.UpdatedAt = at("2014-01-20 09:00:00")
			changed := []pipeline.Registration{moved}
			if all {
				again := reg("R2", 0, "C1", "2014-01-11 09:00:00")
				again.UpdatedAt, again.Station = at("2014-01-20 09:00:00"), "西城区服务站"
				changed = append(changed, again)
			}
			ingestRegs(t, st, changed...)
			expect(t, reconcile(t, st), map[string]string{"R1": "ID_MISMATCH [ID_MISMATCH;NAME_MISMATCH;PERSON_LEVEL_LIMIT]", "R2": "ELIGIBLE"})
		})
	}
	// R1's next version has no certificate number at all: it is in no
	// certificate's group now, and the one it left is judged again.
	t.Run("LeavingAGroupForNoNumberFreesIt", func(t *testing.T) {
		st := MustOpen(t)
		ingestCerts(t, st, cert("C1", 0, "2013-12-01 08:00:00"))
		ingestRegs(t, st, reg("R1", 0, "C1", "2014-01-10 09:00:00"), reg("R2", 0, "C1", "2014-01-11 09:00:00"))
		expect(t, reconcile(t, st), map[string]string{"R2": "DUPLICATE_CERTIFICATE [DUPLICATE_CERTIFICATE;PERSON_LEVEL_LIMIT]"})
		blank := reg("R1", 0, "", "2014-01-10 09:00:00")
		blank.UpdatedAt = at("2014-01-20 09:00:00")
		ingestRegs(t, st, blank)
		expect(t, reconcile(t, st), map[string]string{"R1": "PENDING_CERTIFICATE [PENDING_CERTIFICATE;PERSON_LEVEL_LIMIT]", "R2": "ELIGIBLE"})
	})
}

func TestReconcileIsIncremental(t *testing.T) {
	st := MustOpen(t)
	ctx := context.Background()
	p, _ := st.Programme(ctx)
	ingestCerts(t, st, cert("C1", 0, "2013-12-01 08:00:00"))
	ingestRegs(t, st, reg("R1", 0, "C1", "2014-01-10 09:00:00"), reg("R2", 1, "C2", "2014-01-10 09:00:00"))
	// Judging every registration, the first reconcile reads them all on a
	// connection of its own (judgeAllAside); the later ones judge a few.
	aside := 0
	sqlite.SetReaderExitsHook(t, func() { aside++ })
	run := func() pipeline.ReconcileCounts {
		id, _ := st.BeginRun(ctx, pipeline.MustDate("2014-02-01"), pipeline.TriggerManual)
		c, err := st.Reconcile(ctx, id, p)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := run(); c.Judged != 2 || c.Changed != 2 || aside != 1 {
		t.Fatalf("first reconcile: %+v, every registration read aside %d times", c, aside)
	}
	before := statuses(t, st)
	if c := run(); c.Judged != 0 || c.Changed != 0 {
		t.Fatalf("second reconcile with nothing new: %+v", c)
	}
	ingestCerts(t, st, cert("C2", 1, "2014-01-12 08:00:00"))
	if c := run(); c.Judged != 1 || c.Changed != 1 || aside != 1 {
		t.Fatalf("after C2 arrives: %+v, every registration read aside %d times in all", c, aside)
	}
	after := statuses(t, st)
	if before["R1"] != after["R1"] || after["R2"] != "ELIGIBLE" {
		t.Fatalf("before %v after %v", before, after)
	}
	var history int
	if err := st.DB().Get(&history, `SELECT count(*) FROM status_history WHERE registration_id = 'R2'`); err != nil || history != 2 {
		t.Errorf("R2 history rows = %d, %v; want 2", history, err)
	}
}

func TestFiles(t *testing.T) {
	ctx := context.Background()
	st := MustOpen(t)
	f := pipeline.InboundFile{Kind: pipeline.KindRegistrations, Location: "file:///in", Name: "a.csv", SHA256: "aa", Size: 1}
	if v, _, err := st.CheckFile(ctx, f.Location, f.Name, f.SHA256, ""); err != nil || v != pipeline.FileNew {
		t.Fatalf("new file: %v, %v", v, err)
	}
	if _, err := st.IngestRegistrations(ctx, f, func(pipeline.RegistrationSink, pipeline.RejectSink) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if v, _, _ := st.CheckFile(ctx, f.Location, f.Name, "aa", ""); v != pipeline.FileSeen {
		t.Errorf("same bytes: %v, want FileSeen", v)
	}
	if v, _, _ := st.CheckFile(ctx, f.Location, f.Name, "bb", ""); v != pipeline.FileNameClash {
		t.Errorf("other bytes: %v, want FileNameClash", v)
	}
	if v, _, _ := st.CheckFile(ctx, "file:///elsewhere", f.Name, "bb", ""); v != pipeline.FileNew {
		t.Errorf("other location: %v, want FileNew", v)
	}
	t.Run("Stamps", func(t *testing.T) {
		h := pipeline.InboundFile{Kind: pipeline.KindRegistrations, Location: "file:///in", Name: "s.csv", SHA256: "s1", Stamp: "st1"}
		if taken, err := st.TakenWithStamp(ctx, h.Location, h.Name, "st1"); err != nil || taken {
			t.Fatalf("an unknown stamp: taken %v, %v", taken, err)
		}
		if _, err := st.IngestRegistrations(ctx, h, func(pipeline.RegistrationSink, pipeline.RejectSink) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if taken, _ := st.TakenWithStamp(ctx, h.Location, h.Name, "st1"); !taken {
			t.Error("the stamp it was taken with is not known")
		}
		if taken, _ := st.TakenWithStamp(ctx, h.Location, h.Name, "st2"); taken {
			t.Error("another stamp is known (its bytes must be read)")
		}
		if taken, _ := st.TakenWithStamp(ctx, "file:///elsewhere", h.Name, "st1"); taken {
			t.Error("the stamp is known at another location")
		}
		// Touched, same bytes: the new stamp is remembered for next time.
		if v, _, _ := st.CheckFile(ctx, h.Location, h.Name, "s1", "st2"); v != pipeline.FileSeen {
			t.Errorf("same bytes under a new stamp: %v", v)
		}
		if taken, _ := st.TakenWithStamp(ctx, h.Location, h.Name, "st2"); !taken {
			t.Error("the new stamp was not remembered")
		}
		q := pipeline.InboundFile{Kind: pipeline.KindRegistrations, Location: "file:///in", Name: "q.csv", SHA256: "q1", Stamp: "sq"}
		if err := st.Quarantine(ctx, q, "no header"); err != nil {
			t.Fatal(err)
		}
		// A quarantined file is read again (it may have been corrected).
		if taken, _ := st.TakenWithStamp(ctx, q.Location, q.Name, "sq"); taken {
			t.Error("a quarantined file is known by its stamp")
		}
	})
	t.Run("QuarantineAppliesNothing", func(t *testing.T) {
		g := pipeline.InboundFile{Kind: pipeline.KindRegistrations, Location: "file:///in", Name: "b.csv", SHA256: "cc"}
		r := reg("RQ", 0, "C1", "2014-01-10 09:00:00")
		out, err := st.IngestRegistrations(ctx, g, func(row pipeline.RegistrationSink, reject pipeline.RejectSink) error {
			if err := row(2, &r); err != nil {
				return err
			}
			if err := reject(pipeline.Reject{File: "b.csv", Line: 3, Reason: "x"}); err != nil {
				return err
			}
			return &pipeline.FileError{File: "b.csv", Line: 4, Reason: "undecodable"}
		})
		if err != nil || out.Quarantined == "" {
			t.Fatalf("outcome %+v, %v", out, err)
		}
		var n int
		st.DB().Get(&n, `SELECT count(*) FROM registration_versions WHERE registration_id = 'RQ'`)
		var rejects int
		st.DB().Get(&rejects, `SELECT count(*) FROM rejects`)
		var outcome string
		st.DB().Get(&outcome, `SELECT outcome FROM files WHERE name = 'b.csv'`)
		if n != 0 || rejects != 0 || outcome != pipeline.OutcomeQuarantined {
			t.Fatalf("after quarantine: %d versions, %d rejects, outcome %q", n, rejects, outcome)
		}
		// The same bytes again are skipped, saying why they were quarantined.
		if v, why, _ := st.CheckFile(ctx, g.Location, g.Name, "cc", ""); v != pipeline.FileQuarantinedBefore || why != out.Quarantined {
			t.Errorf("the quarantined file again: %v %q, want FileQuarantinedBefore %q", v, why, out.Quarantined)
		}
		// A corrected file of the same name is taken: nothing of the first was applied.
		if v, _, _ := st.CheckFile(ctx, g.Location, g.Name, "dd", ""); v != pipeline.FileNew {
			t.Errorf("corrected file after a quarantine: %v, want FileNew", v)
		}
	})
}

// A database zhutui creates has 16 KiB pages and is in WAL mode; one made
// before, with SQLite's 4 KiB pages, keeps its pages, is migrated and is in
// WAL mode too.
func TestOpenPageSize(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	check := func(path string, wantPage int) {
		t.Helper()
		st, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		var page, migrations int
		var mode string
		if err := st.DB().GetContext(ctx, &page, `PRAGMA page_size`); err != nil {
			t.Fatal(err)
		}
		if err := st.DB().GetContext(ctx, &mode, `PRAGMA journal_mode`); err != nil {
			t.Fatal(err)
		}
		if err := st.DB().GetContext(ctx, &migrations, `SELECT count(*) FROM migrations`); err != nil {
			t.Fatal(err)
		}
		if page != wantPage || mode != "wal" || migrations == 0 {
			t.Fatalf("%s: page size %d, journal mode %q, %d migrations; want %d, wal and some",
				filepath.Base(path), page, mode, migrations, wantPage)
		}
	}
	check(filepath.Join(dir, "new.db"), 16384)
	check(filepath.Join(dir, "new.db"), 16384) // opened again

	old := filepath.Join(dir, "old.db")
	raw, err := sql.Open("sqlite3", old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`PRAGMA page_size = 4096; CREATE TABLE kept (x); INSERT INTO kept VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	check(old, 4096)
}

// TestOpenCreatesAPrivateDatabase: the database holds every member's ID and
// card number, so the file zhutui creates, and the -wal and -shm files SQLite
// makes beside it, are its owner's alone whatever the umask; a database that
// is there keeps the mode its owner gave it.
func TestOpenCreatesAPrivateDatabase(t *testing.T) {
	ctx := context.Background()
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	path := filepath.Join(dir, "zhutui.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.DB().ExecContext(ctx, `CREATE TABLE written (x); INSERT INTO written VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"zhutui.db", "zhutui.db-wal", "zhutui.db-shm"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want -rw-------", name, fi.Mode().Perm())
		}
	}

	shared := filepath.Join(dir, "shared.db")
	if err := os.WriteFile(shared, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	st2, err := sqlite.Open(ctx, shared)
	if err != nil {
		t.Fatal(err)
	}
	st2.Close()
	if fi, err := os.Stat(shared); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("an existing database's mode changed: %v, %v", fi.Mode().Perm(), err)
	}
}
