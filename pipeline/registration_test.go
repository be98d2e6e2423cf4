package pipeline_test

import (
	"testing"

	"zhutui/pipeline"
)

// TestParseCodes reads every spelling §2 gives for a level, a station's
// verification and a certificate's state, and refuses others.
func TestParseCodes(t *testing.T) {
	levels := map[string]int{"1": 1, "2": 2, "3": 3, "4": 4, "5": 5, "一级": 1, "二级": 2, "三级": 3, "四级": 4, "五级": 5, " ２ ": 2}
	for s, want := range levels {
		if got, err := pipeline.ParseLevel(s); err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	verifications := map[string]pipeline.Verification{
		"pending": pipeline.VerificationPending, "待核对": pipeline.VerificationPending,
		"passed": pipeline.VerificationPassed, "通过": pipeline.VerificationPassed, "Passed": pipeline.VerificationPassed,
		"rejected": pipeline.VerificationRejected, "不通过": pipeline.VerificationRejected, " REJECTED ": pipeline.VerificationRejected,
	}
	for s, want := range verifications {
		if got, err := pipeline.ParseVerification(s); err != nil || got != want {
			t.Errorf("ParseVerification(%q) = %q, %v; want %q", s, got, err, want)
		}
	}
	states := map[string]pipeline.CertificateStatus{
		"valid": pipeline.CertificateValid, "有效": pipeline.CertificateValid, "Valid": pipeline.CertificateValid,
		"revoked": pipeline.CertificateRevoked, "撤销": pipeline.CertificateRevoked,
	}
	for s, want := range states {
		if got, err := pipeline.ParseCertificateStatus(s); err != nil || got != want {
			t.Errorf("ParseCertificateStatus(%q) = %q, %v; want %q", s, got, err, want)
		}
	}
	for _, s := range []string{"", "0", "6", "六级", "1级", "二"} {
		if _, err := pipeline.ParseLevel(s); err == nil {
			t.Errorf("ParseLevel(%q) accepted", s)
		}
	}
	for _, s := range []string{"", "pass", "通", "不通", "待"} {
		if _, err := pipeline.ParseVerification(s); err == nil {
			t.Errorf("ParseVerification(%q) accepted", s)
		}
	}
	for _, s := range []string{"", "invalid", "有", "撤"} {
		if _, err := pipeline.ParseCertificateStatus(s); err == nil {
			t.Errorf("ParseCertificateStatus(%q) accepted", s)
		}
	}
}
