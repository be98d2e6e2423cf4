package pipeline

import "fmt"

// Reject is an input row that was not applied: the file, the line it starts
// on, the field at fault (empty for the row as a whole) and why.
type Reject struct {
	File   string
	Line   int
	Field  string
	Reason string
}

func (r Reject) Error() string {
	if r.Field == "" {
		return fmt.Sprintf("%s:%d: %s", r.File, r.Line, r.Reason)
	}
	return fmt.Sprintf("%s:%d: %s: %s", r.File, r.Line, r.Field, r.Reason)
}

// FileError means a whole input file cannot be trusted (undecodable, no
// header, a required column missing, totals that disagree, the same name with
// other content): nothing of it is applied and it is quarantined.
type FileError struct {
	File   string
	Line   int // 0 when no line is at fault
	Reason string
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Reason)
}

// UnfinishedDeliveryError refuses a result file that answers a batch whose
// delivery began in run Run but is not recorded as done: the file may well
// be the bank's true answer, so it is not quarantined, and nothing of it is
// recorded until the delivery is finished.
type UnfinishedDeliveryError struct {
	BatchID string
	Run     int64
	// Finish says what finishes the delivery (FinishDelivery, with the runs
	// begun since); "" for run Run's rerun.
	Finish string
}

func (e *UnfinishedDeliveryError) Error() string {
	finish := e.Finish
	if finish == "" {
		finish = FinishDelivery(e.Run, nil)
	}
	return fmt.Sprintf("it answers batch %s, whose delivery began in run %d but is not recorded as done: "+
		"%s; then take this file again", e.BatchID, e.Run, finish)
}

// FileKind names what an inbound file is.
type FileKind string

// The kinds of inbound file.
const (
	KindRegistrations FileKind = "registrations"
	KindCertificates  FileKind = "certificates"
	KindResults       FileKind = "results"
)

// InboundFile identifies one inbound file being taken.
type InboundFile struct {
	Kind     FileKind
	Location string // the location URL, without credentials
	Name     string
	SHA256   string
	Size     int64
	Encoding string
	RunID    int64  // 0 outside a run
	Stamp    string // see Stamper; "" when the location gives none
}

// The outcomes recorded for an inbound file.
const (
	OutcomeTaken       = "taken"
	OutcomeQuarantined = "quarantined"
)

// FileVerdict says what to do with an inbound file found at a location.
type FileVerdict int

// The verdicts.
const (
	FileNew               FileVerdict = iota // not seen: take it
	FileSeen                                 // the same name and bytes were taken before: skip it
	FileNameClash                            // a file of this name with other bytes was taken: quarantine it
	FileQuarantinedBefore                    // the same name and bytes were quarantined before: skip it
)

// FileOutcome is what taking one file did.
type FileOutcome struct {
	Quarantined string // why the whole file was not applied; "" when it was taken
	Applied     int    // rows that became the current version
	Unchanged   int    // rows kept as history only: an equal or older version
	Rejected    int    // rows not applied
	Rejects     []Reject
}

// MaxRejectsKept caps the rejects a FileOutcome carries in memory; all of
// them are stored.
const MaxRejectsKept = 100

// RowSink receives the good rows of an input file with the line they start on.
type (
	RegistrationSink func(line int, r *Registration) error
	CertificateSink  func(line int, c *Certificate) error
	RejectSink       func(Reject) error
)

// A RegistrationSource reads a registration export into the two sinks; a
// CertificateSource reads a certificate feed. Both return a *FileError when
// the file cannot be trusted as a whole.
type (
	RegistrationSource func(row RegistrationSink, reject RejectSink) error
	CertificateSource  func(row CertificateSink, reject RejectSink) error
)
