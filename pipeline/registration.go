package pipeline

import (
	"fmt"
	"strings"
	"time"
)

// Registration is one version of a member's registration, as the registration
// system exported it (INTERFACES.md §2.1). Text fields are kept as typed;
// rules compare them through the normalisers.
type Registration struct {
	ID                string
	UpdatedAt         time.Time
	SubmittedAt       time.Time
	Name              string
	IDNumber          string
	CardNumber        string
	Mobile            string
	CertificateNumber string
	Occupation        string
	Level             int // 1-5
	IssueDate         Date
	Station           string
	Verification      Verification
	VerifiedAt        time.Time // zero while pending
	VerifiedBy        string
}

// Certificate is one version of a certificate in the appraisal centre's feed
// (INTERFACES.md §2.2).
type Certificate struct {
	Number        string
	IDNumber      string
	Name          string
	Occupation    string
	Level         int // 1-5
	IssueDate     Date
	AuthorityCode string
	AuthorityName string
	Status        CertificateStatus
	UpdatedAt     time.Time
}

// Verification is the state of a station's check of the originals.
type Verification string

// The verification states.
const (
	VerificationPending  Verification = "pending"
	VerificationPassed   Verification = "passed"
	VerificationRejected Verification = "rejected"
)

// ParseVerification reads a verification state in English or Chinese.
func ParseVerification(s string) (Verification, error) {
	switch strings.ToLower(NormalizeText(s)) {
	case "pending", "待核对":
		return VerificationPending, nil
	case "passed", "通过":
		return VerificationPassed, nil
	case "rejected", "不通过":
		return VerificationRejected, nil
	}
	return "", fmt.Errorf("%q is not pending, passed or rejected", s)
}

// CertificateStatus is a certificate's state in the feed.
type CertificateStatus string

// The certificate states.
const (
	CertificateValid   CertificateStatus = "valid"
	CertificateRevoked CertificateStatus = "revoked"
)

// ParseCertificateStatus reads a certificate state in English or Chinese.
func ParseCertificateStatus(s string) (CertificateStatus, error) {
	switch strings.ToLower(NormalizeText(s)) {
	case "valid", "有效":
		return CertificateValid, nil
	case "revoked", "撤销":
		return CertificateRevoked, nil
	}
	return "", fmt.Errorf("%q is not valid or revoked", s)
}

var levelNames = map[string]int{
	"1": 1, "2": 2, "3": 3, "4": 4, "5": 5,
	"一级": 1, "二级": 2, "三级": 3, "四级": 4, "五级": 5,
}

// ParseLevel reads a vocational qualification level: 1-5 or 一级 to 五级.
func ParseLevel(s string) (int, error) {
	if l, ok := levelNames[NormalizeText(s)]; ok {
		return l, nil
	}
	return 0, fmt.Errorf("%q is not a level 1-5 or 一级-五级", s)
}
