package pipeline

import (
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// Finding is one failing check of a registration, with the values that made
// it fail: what the registration says and, for a mismatch, what the feed says.
// Field names the registration field concerned, so that reports know what to
// mask.
type Finding struct {
	Code       Status `json:"code"`
	Field      string `json:"field,omitempty"`
	Registered string `json:"registered,omitempty"`
	Feed       string `json:"feed,omitempty"`
}

// Decision is the outcome of the rules a registration can be judged on by
// itself and its certificate (codes 1 to 17 of INTERFACES.md §3).
//
// The two first-come rules compare registrations with each other, so the
// store applies them with set-based SQL over the groups a night touched.
// Among registrations of one certificate (by NormalizeCertificateNumber) the
// winner is the first by: holds a payment that was in a batch, then passes
// rules 1-17, then earliest submitted_at, then the smaller registration_id;
// when the winner passes rules 1-17 or holds a payment, every other
// registration of the certificate fails DUPLICATE_CERTIFICATE. The same order
// among the winners of their certificates that share an ID number and a level
// decides PERSON_LEVEL_LIMIT.
type Decision struct {
	// Status is the first failing code, or Eligible when none fails.
	Status Status
	// Findings lists every failing check in the order of §3.
	Findings []Finding
	// Level is the level the subsidy is for: the feed's when the certificate
	// is known, else the registration's.
	Level int
	// Amount is the subsidy when Status is Eligible, else zero.
	Amount decimal.Decimal
}

// Evaluate applies rules 1 to 17 to a registration and the latest version of
// its certificate (nil when the feed does not have it yet). It is pure and
// safe for concurrent use.
func (p *Programme) Evaluate(r *Registration, c *Certificate) Decision {
	var d Decision
	fail := func(code Status, field, registered, feed string) {
		d.Findings = append(d.Findings, Finding{Code: code, Field: field, Registered: registered, Feed: feed})
	}

	id := NormalizeIDNumber(r.IDNumber)
	if !ValidIDNumber(id) {
		fail(InvalidIDNumber, "id_number", r.IDNumber, "")
	}
	if !ValidCardNumber(NormalizeCardNumber(r.CardNumber)) {
		fail(InvalidCardNumber, "card_number", r.CardNumber, "")
	}
	// §3 names '|', CR and LF; every control character is refused the
	// same way (BankField): none belongs in a name.
	name := NormalizeName(r.Name)
	if name == "" || !BankField(name) {
		fail(InvalidName, "name", r.Name, "")
	}
	switch r.Verification {
	case VerificationRejected:
		fail(StationRejected, "verification", string(r.Verification), "")
	case VerificationPending:
		fail(PendingVerification, "verification", string(r.Verification), "")
	}

	occupation, level, issued := NormalizeOccupation(r.Occupation), r.Level, r.IssueDate
	var feedOccupation, feedLevel, feedIssued string // for the findings of rules 14-16
	if c == nil {
		fail(PendingCertificate, "certificate_number", r.CertificateNumber, "")
	} else {
		if c.Status == CertificateRevoked {
			fail(CertRevoked, "certificate_number", r.CertificateNumber, string(c.Status))
		}
		if id != NormalizeIDNumber(c.IDNumber) {
			fail(IDMismatch, "id_number", r.IDNumber, c.IDNumber)
		}
		if name != NormalizeName(c.Name) {
			fail(NameMismatch, "name", r.Name, c.Name)
		}
		if occupation != NormalizeOccupation(c.Occupation) {
			fail(OccupationMismatch, "occupation", r.Occupation, c.Occupation)
		}
		if r.Level != c.Level {
			fail(LevelMismatch, "level", strconv.Itoa(r.Level), strconv.Itoa(c.Level))
		}
		if r.IssueDate != c.IssueDate {
			fail(IssueDateMismatch, "issue_date", r.IssueDate.String(), c.IssueDate.String())
		}
		if !strings.HasPrefix(NormalizeText(c.AuthorityCode), p.AuthorityPrefix) {
			fail(AuthorityNotEligible, "authority_code", "", c.AuthorityCode)
		}
		// The feed is the authority on what the certificate is.
		occupation, level, issued = NormalizeOccupation(c.Occupation), c.Level, c.IssueDate
		feedOccupation, feedLevel, feedIssued = c.Occupation, strconv.Itoa(c.Level), c.IssueDate.String()
	}

	if _, ok := p.CatalogLevel(occupation); !ok {
		fail(OccupationNotInCatalog, "occupation", r.Occupation, feedOccupation)
		if _, paid := p.Amount(level); !paid {
			fail(LevelNotCovered, "level", strconv.Itoa(r.Level), feedLevel)
		}
	} else if !p.Covers(occupation, level) {
		fail(LevelNotCovered, "level", strconv.Itoa(r.Level), feedLevel)
	}
	if issued.Before(p.StartDate) {
		fail(IssuedBeforeStart, "issue_date", r.IssueDate.String(), feedIssued)
	}
	if deadline := PeriodEnd(issued, p.RegistrationMonths); r.SubmittedAt.After(deadline) {
		fail(RegisteredTooLate, "submitted_at", FormatTime(r.SubmittedAt), "deadline "+FormatTime(deadline))
	}

	d.Level = level
	if len(d.Findings) == 0 {
		d.Status = Eligible
		d.Amount, _ = p.Amount(level)
	} else {
		d.Status = d.Findings[0].Code
	}
	return d
}
