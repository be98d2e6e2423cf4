package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"regexp"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"zhutui/pipeline/crashpoint"
)

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Store is everything a run needs from the database; connectors/sqlite
// implements it.
type Store interface {
	IngestStore
	ReportSource
	Programme(ctx context.Context) (*Programme, error)
	BeginRun(ctx context.Context, businessDate Date, trigger Trigger) (int64, error)
	Run(ctx context.Context, id int64) (Run, error)
	StartStage(ctx context.Context, runID int64, stage Stage) error
	FinishStage(ctx context.Context, runID int64, stage Stage, counts string, err error) error
	FinishRun(ctx context.Context, runID int64, err error) error
	Reconcile(ctx context.Context, runID int64, p *Programme) (ReconcileCounts, error)
	CreateBatches(ctx context.Context, runID int64, spec BatchSpec, render func(*Batch) ([]byte, error)) ([]Batch, error)
	BatchesToDeliver(ctx context.Context) ([]string, error)
	// UnknownBatches returns those of ids that no batch has.
	UnknownBatches(ctx context.Context, ids []string) ([]string, error)
	Batch(ctx context.Context, id string) (*Batch, error)
	// BeginDelivery records that a run is about to put a batch's sidecar,
	// which tells the bank to take its payment file (from then on the batch
	// cannot be rejected), and returns the batch's status; only an APPROVED
	// batch gets its sidecar.
	BeginDelivery(ctx context.Context, runID int64, id, location string) (BatchStatus, error)
	MarkSent(ctx context.Context, runID int64, id string, deliveries []Delivery) error
	FileNotices(ctx context.Context, runID int64, tpl SMSTemplates) ([]string, error)
	SMSFilesToDeliver(ctx context.Context) ([]string, error)
	SMSFile(ctx context.Context, name string) ([]Notice, error)
	// SMSDeliveryRun returns the run that began committing an SMS file into
	// the platform's folder, 0 when none has.
	SMSDeliveryRun(ctx context.Context, name string) (int64, error)
	// BeginSMSDelivery records that a run is about to commit an SMS file
	// into the platform's folder (see Stager): from then on the platform may
	// have taken it.
	BeginSMSDelivery(ctx context.Context, runID int64, name string) error
	MarkSMSDelivered(ctx context.Context, runID int64, d Delivery) error
	// LastVerdict returns the verdict of the last report written and its
	// run ("" before the first).
	LastVerdict(ctx context.Context) (int64, string, error)
}

// Messaging is how SMS notices are made and delivered.
type Messaging struct {
	Templates SMSTemplates
	Outbox    Location // the SMS platform's folder
}

// Banking is how batches are made and delivered.
type Banking struct {
	PayerAccount     string
	MaxLines         int
	ApprovalRequired bool
	Format           BankFormat
	Payments         Location // where payment files go
	Results          Location // where result files come from
}

// Reporter writes a run's report and returns where it went.
type Reporter interface {
	Write(ctx context.Context, runID int64, src ReportSource) (string, *Summary, error)
}

// Inbox is an inbound location and the kind of file it holds.
type Inbox struct {
	Kind     FileKind
	Location Location
}

// Runner runs the stages of a nightly cycle. Its fields are set once by the
// caller; a Runner must not run two cycles at the same time.
type Runner struct {
	Store   Store
	Formats Formats
	Inboxes []Inbox
	Bank    Banking
	SMS     Messaging
	Reports Reporter
	// Anchor, when set, records each file delivered outside the database.
	Anchor Anchor
	Log    *slog.Logger
	Now    func() time.Time
}

// Anchor records, outside the database, a file a run delivered and the
// ledger's head after it, so that a database put back from an older copy
// can be told from the one that delivered it (connectors/anchor).
type Anchor interface {
	Delivered(ctx context.Context, runID int64, name string) error
}

// anchor records a delivery in r.Anchor, if there is one.
func (r *Runner) anchor(ctx context.Context, runID int64, name string) error {
	if r.Anchor == nil {
		return nil
	}
	return r.Anchor.Delivered(ctx, runID, name)
}

// Result is what a run did.
type Result struct {
	RunID     int64
	Files     []Taken
	Reconcile ReconcileCounts
	Batches   []Batch // made by this run
	Delivered []string
	SMSFiles  []string
	ReportDir string
	Summary   *Summary
	// Held says why the batch or deliver stage moved no money: the books did
	// not agree (see booksHeld). "" when they did.
	Held string
	// Failed is the stage this attempt failed at; "" when none did.
	Failed Stage
}

// Books returns "" when the run's books agree: its report reconciles and no
// money was held. Otherwise it says what is wrong, for the operator.
func (res *Result) Books() string {
	switch {
	case res.Held != "":
		return res.Held
	case res.Summary != nil && res.Summary.Verdict() != Reconciled:
		return "the report says " + res.Summary.Verdict()
	}
	return ""
}

// stage is one step of the cycle: it does its work and returns a short
// account of it for the stage record.
type stage struct {
	name Stage
	do   func(ctx context.Context, runID int64, res *Result) (string, error)
}

func (r *Runner) stages() []stage {
	return []stage{
		{StageCollect, r.collect},
		{StageReconcile, r.reconcile},
		{StageBatch, r.batch},
		{StageDeliver, r.deliver},
		{StageSettle, r.settle},
		{StageNotify, r.notify},
		{StageReport, r.report},
	}
}

// Resume performs every stage of a recorded run again, in order. Stages are
// idempotent, so what a cut-off run already did is not done twice.
func (r *Runner) Resume(ctx context.Context, runID int64) (*Result, error) {
	res := &Result{RunID: runID}
	log := r.log().With("run", runID)
	for _, s := range r.stages() {
		crashpoint.Here("stage:" + string(s.name) + ":before")
		if err := r.Store.StartStage(ctx, runID, s.name); err != nil {
			// Nothing of the stage was done (a full disk, say): the run
			// failed at it all the same, and says so where it can.
			log.Error("stage failed", "stage", s.name, "err", err)
			res.Failed = s.name
			return res, r.failRun(ctx, runID, StageFailed(runID, s.name, fmt.Errorf("record its start: %w", err)))
		}
		log.Info("stage started", "stage", s.name)
		var counts string
		var err error
		// The stage's label marks its CPU profile samples, also those of the
		// goroutines the SQLite driver starts for it ($ZHUTUI_CPUPROFILE,
		// go tool pprof -tagfocus stage=reconcile).
		pprof.Do(WithProgress(ctx, log.With("stage", s.name)), pprof.Labels("stage", string(s.name)), func(ctx context.Context) {
			counts, err = s.do(ctx, runID, res)
		})
		if err != nil && ctx.Err() != nil {
			// Stopped (a signal, the daemon shutting down): say so first. What
			// follows is how the stage's statements met the cancellation
			// ("transaction has already been committed or rolled back" is
			// database/sql having rolled the open one back).
			err = fmt.Errorf("stopped (%w) before the stage finished; no transaction was left half-applied: %w", ctx.Err(), err)
		}
		if ferr := r.Store.FinishStage(context.WithoutCancel(ctx), runID, s.name, counts, err); ferr != nil && err == nil {
			err = ferr
		}
		if err != nil {
			log.Error("stage failed", "stage", s.name, "err", err)
			res.Failed = s.name
			return res, r.failRun(ctx, runID, StageFailed(runID, s.name, err))
		}
		log.Info("stage finished", "stage", s.name, "counts", counts)
		crashpoint.Here("stage:" + string(s.name) + ":after")
	}
	if err := r.Store.FinishRun(ctx, runID, nil); err != nil {
		return res, fmt.Errorf("run %d: every stage succeeded, but recording that failed: %w", runID, err)
	}
	return res, nil
}

// failRun records that a run failed with err and returns err, with what kept
// it from being recorded, if anything did (the next process to take the run
// lease records it then; see sqlite.Store.AcquireLease).
func (r *Runner) failRun(ctx context.Context, runID int64, err error) error {
	if ferr := r.Store.FinishRun(context.WithoutCancel(ctx), runID, err); ferr != nil {
		return fmt.Errorf("%w (and recording that failed: %w)", err, ferr)
	}
	return err
}

func (r *Runner) log() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}

// collect takes every new file of every inbound location.
func (r *Runner) collect(ctx context.Context, runID int64, res *Result) (string, error) {
	var errs []error
	for _, in := range r.Inboxes {
		errs = append(errs, r.take(ctx, runID, res, in))
	}
	taken, quarantined, notTaken := 0, 0, 0
	for _, t := range res.Files {
		switch {
		case t.NotTaken != "":
			notTaken++
		case t.Quarantined != "":
			quarantined++
		default:
			taken++
		}
	}
	counts := fmt.Sprintf("taken=%d quarantined=%d", taken, quarantined)
	if notTaken > 0 {
		counts += fmt.Sprintf(" not-taken=%d", notTaken)
	}
	return counts, errors.Join(errs...)
}

// take takes every new file of one inbound location. A file that cannot be
// trusted is quarantined and the next goes on; a file that cannot be read at
// all fails the stage once the others are taken.
func (r *Runner) take(ctx context.Context, runID int64, res *Result, in Inbox) error {
	names, err := in.Location.List(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range names {
		if !Inbound(in.Kind, name) {
			continue
		}
		t, err := TakeFile(ctx, r.Store, r.Formats, in.Kind, in.Location, name, runID, r.now())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		switch {
		case t.Skipped:
			continue
		case t.NotTaken != "":
			r.log().Warn("file not taken: the next run takes it", "run", runID, "kind", in.Kind, "file", name, "reason", t.NotTaken)
		case t.Quarantined != "":
			r.log().Warn("file quarantined", "run", runID, "kind", in.Kind, "file", name, "reason", t.Quarantined)
		default:
			r.log().Info("file taken", "run", runID, "kind", in.Kind, "file", name,
				"applied", t.Applied, "unchanged", t.Unchanged, "rejected", t.Rejected)
		}
		res.Files = append(res.Files, t)
	}
	return errors.Join(errs...)
}

func (r *Runner) reconcile(ctx context.Context, runID int64, res *Result) (string, error) {
	p, err := r.Store.Programme(ctx)
	if err != nil {
		return "", err
	}
	res.Reconcile, err = r.Store.Reconcile(ctx, runID, p)
	c := res.Reconcile
	return fmt.Sprintf("judged=%d changed=%d decided=%d withdrawn=%d reissued=%d", c.Judged, c.Changed,
		c.Payments.Decided, c.Payments.Withdrawn, c.Payments.Reissued), err
}

// HeldPrefix starts the record of a stage that held money (see booksHeld).
const HeldPrefix = "held: "

// booksHeld says why no money may move now, or "" when it may: money stays
// where it is while the last report's verdict is not RECONCILED, or while
// the ledger's entries since the last verification do not verify. The run
// goes on to its report, which says what does not add up.
func (r *Runner) booksHeld(ctx context.Context, runID int64, res *Result) (string, error) {
	if res.Held != "" {
		return res.Held, nil
	}
	last, verdict, err := r.Store.LastVerdict(ctx)
	if err != nil {
		return "", fmt.Errorf("check the books before money moves: %w", err)
	}
	if verdict != "" && verdict != Reconciled {
		res.Held = fmt.Sprintf("no money moves while the books do not agree: the report of run %d says %s", last, verdict)
	} else {
		problems, err := r.Store.VerifyNewEntries(ctx)
		if err != nil {
			return "", fmt.Errorf("check the books before money moves: verify the ledger's new entries: %w", err)
		}
		if len(problems) > 0 {
			res.Held = "no money moves while the books do not agree: " + problems[0]
		}
	}
	if res.Held != "" {
		r.log().Error("money held", "run", runID, "reason", res.Held)
	}
	return res.Held, nil
}

// batch groups the ELIGIBLE payments into batches for the run's business date.
func (r *Runner) batch(ctx context.Context, runID int64, res *Result) (string, error) {
	if held, err := r.booksHeld(ctx, runID, res); err != nil {
		return "", err
	} else if held != "" {
		return HeldPrefix + held, nil
	}
	run, err := r.Store.Run(ctx, runID)
	if err != nil {
		return "", err
	}
	p, err := r.Store.Programme(ctx)
	if err != nil {
		return "", err
	}
	spec := BatchSpec{BusinessDate: run.BusinessDate, PayerAccount: r.Bank.PayerAccount, Memo: p.Memo,
		MaxLines: r.Bank.MaxLines, ApprovalRequired: r.Bank.ApprovalRequired}
	if budget, ok := p.Budget(); ok {
		spec.BudgetSet, spec.BudgetFen = true, Fen(budget)
	}
	res.Batches, err = r.Store.CreateBatches(ctx, runID, spec, r.Bank.Format.RenderPayment)
	if err != nil {
		err = fmt.Errorf("make the batches: %w", err)
	}
	var lines int64
	for _, b := range res.Batches {
		lines += b.Count
		r.log().Info("batch created", "run", runID, "batch", b.ID, "lines", b.Count, "total", FormatFen(b.TotalFen), "status", b.Status)
	}
	return fmt.Sprintf("batches=%d lines=%d", len(res.Batches), lines), err
}

// deliver writes the payment file and its sidecar of every approved batch not
// yet delivered, data file first, then records the batch as SENT. Before the
// sidecar, which tells the bank to take the file, it records that the batch's
// delivery began (from then on the batch cannot be rejected); a batch
// rejected since the stage listed it gets no sidecar. A file already there
// with the same bytes is recorded without writing again; other bytes under
// its name stop the stage. A batch whose delivery began in an earlier attempt
// and whose payment file has since left the bank's folder is recorded as
// SENT without putting anything again (see takenByTheBank).
func (r *Runner) deliver(ctx context.Context, runID int64, res *Result) (string, error) {
	ids, err := r.Store.BatchesToDeliver(ctx)
	if err != nil {
		return "", fmt.Errorf("list the batches to deliver: %w", err)
	}
	if len(ids) > 0 {
		if held, err := r.booksHeld(ctx, runID, res); err != nil {
			return "", err
		} else if held != "" {
			return HeldPrefix + held, nil
		}
		if err := r.strangersAtTheBank(ctx, runID); err != nil {
			return "", err
		}
	}
	// Each batch is read and rendered while the one before it is put and
	// marked sent, so that the two overlap on two cores; at most one batch
	// waits ahead.
	type rendered struct {
		b    *Batch
		data []byte
		err  error
	}
	ahead, stop := context.WithCancel(ctx)
	next := make(chan rendered, 1)
	go func() {
		defer close(next)
		for _, id := range ids {
			var x rendered
			x.b, x.data, x.err = r.renderBatch(ahead, id)
			select {
			case next <- x:
			case <-ahead.Done():
				return
			}
			if x.err != nil {
				return
			}
		}
	}()
	defer func() {
		stop()
		for range next { // wait for the reader to finish
		}
	}()
	skipped := 0
	for x := range next {
		if x.err != nil {
			return "", x.err
		}
		id, data := x.b.ID, x.data
		name := PaymentFileName(id)
		loc := r.Bank.Payments.String()
		put := func(kind, name string, data []byte) (Delivery, error) {
			already, err := r.Bank.Payments.Put(ctx, name, data)
			if err != nil {
				return Delivery{}, fmt.Errorf("deliver batch %s: %w", id, err)
			}
			crashpoint.Here("deliver:put")
			d := r.delivery(kind, id, loc, name, data)
			d.Already = already
			return d, nil
		}
		if x.b.DeliveryRun != 0 {
			taken, err := r.takenByTheBank(ctx, runID, x.b, name, data)
			if err != nil {
				return "", err
			}
			if taken {
				res.Delivered = append(res.Delivered, id)
				continue
			}
		}
		payment, err := put("payment", name, data)
		if err != nil {
			return "", err
		}
		// The bank takes a payment file only once its sidecar is there
		// (§4.1). So the delivery is recorded as begun before the sidecar
		// leaves: from then on the bank may pay the batch, and it can no
		// longer be rejected. A batch rejected meanwhile gets no sidecar.
		crashpoint.Here("deliver:begin")
		status, err := r.Store.BeginDelivery(ctx, runID, id, loc)
		if err != nil {
			return "", fmt.Errorf("deliver batch %s: its payment file is at the bank without its sidecar, "+
				"and recording that its delivery begins failed: %w", id, err)
		}
		if status != BatchApproved {
			r.log().Warn("batch not delivered: it is no longer approved; its payment file has no sidecar, so the bank does not take it",
				"run", runID, "batch", id, "status", status)
			skipped++
			continue
		}
		sidecar, err := put("sidecar", name+".sha256", r.Bank.Format.Sidecar(name, data))
		if err != nil {
			return "", err
		}
		ds := []Delivery{payment, sidecar}
		if err := r.Store.MarkSent(ctx, runID, id, ds); err != nil {
			return "", fmt.Errorf("deliver batch %s: its files are at the bank, and recording it as sent failed "+
				"(finishing the run records it, without putting them again): %w", id, err)
		}
		if err := r.anchor(ctx, runID, name); err != nil {
			return "", err
		}
		res.Delivered = append(res.Delivered, id)
		r.log().Info("batch delivered", "run", runID, "batch", id, "file", name)
	}
	if err := ctx.Err(); err != nil { // the reader stopped early
		return "", err
	}
	if skipped > 0 {
		return fmt.Sprintf("delivered=%d not-approved=%d", len(res.Delivered), skipped), nil
	}
	return fmt.Sprintf("delivered=%d", len(res.Delivered)), nil
}

// strangersAtTheBank stops the delivery while the bank's folder holds a
// payment file, or its sidecar, of a batch this database never made. Such a
// file was put by a database that knew more than this one: this one put back
// from a copy together with its anchor file (which then cannot tell), or
// another installation delivering to the same folder. Either way the bank
// would pay both. A folder that cannot be listed (one the bank lets zhutui
// write to but not read) is not checked, which the log says.
func (r *Runner) strangersAtTheBank(ctx context.Context, runID int64) error {
	loc := r.Bank.Payments
	names, err := loc.List(ctx)
	if err != nil {
		r.log().Warn("the bank's folder cannot be listed: whether it holds payment files this database did not make is not checked",
			"run", runID, "location", loc.String(), "err", err)
		return nil
	}
	files := map[string]string{} // batch id: a file of it
	var ids []string
	for _, name := range names {
		if m := paymentFile.FindStringSubmatch(name); m != nil {
			if _, seen := files[m[1]]; !seen {
				files[m[1]] = name
				ids = append(ids, m[1])
			}
		}
	}
	if len(ids) == 0 {
		return nil
	}
	unknown, err := r.Store.UnknownBatches(ctx, ids)
	if err != nil {
		return fmt.Errorf("check the bank's folder for payment files this database did not make: %w", err)
	}
	if len(unknown) == 0 {
		return nil
	}
	return fmt.Errorf("nothing is delivered: the bank's folder %s holds %s of batch %s, which this database never made "+
		"(%s in all). It was put by a database that knew more than this one: this one put back from a copy "+
		"together with its anchor file (put the newest copy back, without the anchor file), or another installation "+
		"delivering to this folder. The bank would pay both; once the file is explained, whoever may removes it from the folder",
		loc.String(), files[unknown[0]], unknown[0], Counted(int64(len(unknown)), "such batch", "such batches"))
}

// paymentFile matches a payment file's name, or its sidecar's, and gives the
// batch id.
var paymentFile = regexp.MustCompile(`^ZTPAY_(B[0-9]+)\.txt(?:\.sha256)?$`)

// takenByTheBank finishes the delivery of a batch that an earlier attempt
// (run b.DeliveryRun, cut off before it recorded the batch as SENT) began,
// when its payment file is no longer in the bank's folder. That attempt put
// the payment file and then perhaps its sidecar; the bank takes a file only
// with its sidecar, and a file taken may leave the folder. Putting both again
// would then have the bank pay the batch a second time, so nothing is put:
// the batch is recorded as SENT with the files that attempt put, and the
// bank's result file settles it. (A file removed by someone else, never
// taken, is recorded the same way; its batch then waits for a result that
// does not come, which zhutui status and the report show, rather than being
// paid twice.) It reports false, with nothing done, while the payment file is
// still there: the usual puts then find it and go on. When the folder itself
// is gone too (a location that can tell, see FolderChecker), it fails and
// records nothing: a folder that is not there says nothing of its files.
func (r *Runner) takenByTheBank(ctx context.Context, runID int64, b *Batch, name string, data []byte) (bool, error) {
	there, err := Exists(ctx, r.Bank.Payments, name)
	if err != nil {
		return false, fmt.Errorf("deliver batch %s: %w", b.ID, err)
	}
	if there {
		return false, nil
	}
	loc := r.Bank.Payments.String()
	if err := checkFolder(ctx, r.Bank.Payments); err != nil {
		return false, fmt.Errorf("deliver batch %s: run %d put its payment file %s in %s, and the folder itself "+
			"cannot be checked now (%w): whether the bank took the file cannot be told, so nothing is put or "+
			"recorded; rerun once the folder is back", b.ID, b.DeliveryRun, name, loc, err)
	}
	r.log().Warn(fmt.Sprintf("batch recorded as sent without putting its files again: run %d put its payment file, "+
		"which has left the bank's folder since (taken by the bank, or removed); the bank's result file settles it", b.DeliveryRun),
		"run", runID, "batch", b.ID, "file", name, "location", loc)
	note := fmt.Sprintf("not put again: run %d put the payment file, which had left the folder", b.DeliveryRun)
	ds := []Delivery{
		r.delivery("payment", b.ID, loc, name, data),
		r.delivery("sidecar", b.ID, loc, name+".sha256", r.Bank.Format.Sidecar(name, data)),
	}
	for i := range ds {
		ds[i].Already, ds[i].Note = true, note
	}
	if err := r.Store.MarkSent(ctx, runID, b.ID, ds); err != nil {
		return false, err
	}
	return true, r.anchor(ctx, runID, name)
}

// checkFolder asks loc whether its folder itself is there, where loc can
// tell (see FolderChecker); a file's absence from a folder that is gone says
// nothing of the file.
func checkFolder(ctx context.Context, loc Location) error {
	if fc, ok := loc.(FolderChecker); ok {
		return fc.CheckFolder(ctx)
	}
	return nil
}

// delivery describes a file of batch id put at loc, now (payment files,
// sidecars and SMS files alike).
func (r *Runner) delivery(kind, id, loc, name string, data []byte) Delivery {
	return Delivery{Kind: kind, BatchID: id, Location: loc, Name: name, SHA256: sha256Hex(data),
		Size: int64(len(data)), At: FormatTime(r.now())}
}

// Exists says whether loc holds a file called name: by its stamp where loc
// has one (a stat, which a folder that may not be listed still answers),
// else by listing the folder.
func Exists(ctx context.Context, loc Location, name string) (bool, error) {
	if s, ok := loc.(Stamper); ok {
		_, err := s.Stamp(ctx, name)
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return err == nil, err
	}
	names, err := loc.List(ctx)
	_, there := slices.BinarySearch(names, name)
	return there, err
}

// renderBatch reads a batch and renders its payment file, which must be the
// bytes whose SHA-256 was fixed when the batch was made.
func (r *Runner) renderBatch(ctx context.Context, id string) (*Batch, []byte, error) {
	b, err := r.Store.Batch(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	data, err := r.Bank.Format.RenderPayment(b)
	if err != nil {
		return nil, nil, err
	}
	if got := sha256Hex(data); got != b.FileSHA256 {
		return nil, nil, fmt.Errorf("batch %s renders to other bytes (sha256 %s) than when it was created (%s): not delivered",
			id, got, b.FileSHA256)
	}
	return b, data, nil
}

// settle takes the bank's result files.
func (r *Runner) settle(ctx context.Context, runID int64, res *Result) (string, error) {
	if r.Bank.Results == nil {
		return "no results location", nil
	}
	n := len(res.Files)
	err := r.take(ctx, runID, res, Inbox{Kind: KindResults, Location: r.Bank.Results})
	var unfinished *UnfinishedDeliveryError
	if errors.As(err, &unfinished) && res.Held != "" {
		// This run's deliver stage did nothing: rerunning it again does
		// not help until the books agree. Then this run's rerun finishes
		// the delivery (a deliver stage finishes any that an earlier run
		// began), and a run before it is not rerun (Supersede).
		err = fmt.Errorf("%w (this run could not: %s; once the books agree, zhutui rerun %d)", err, res.Held, runID)
	}
	return fmt.Sprintf("files=%d", len(res.Files)-n), err
}

// notify files the notices of newly PAID and RETURNED payments into SMS
// batches and delivers every SMS batch not yet delivered. A notice is made
// once, when the bank's result is taken; its file renders the same bytes on
// every attempt to deliver it.
func (r *Runner) notify(ctx context.Context, runID int64, res *Result) (string, error) {
	made, err := r.Store.FileNotices(ctx, runID, r.SMS.Templates)
	if err != nil {
		return "", err
	}
	if r.SMS.Outbox == nil {
		return fmt.Sprintf("files=%d undelivered: no sms location", len(made)), nil
	}
	names, err := r.Store.SMSFilesToDeliver(ctx)
	if err != nil {
		return "", err
	}
	for _, name := range names {
		notices, err := r.Store.SMSFile(ctx, name)
		if err != nil {
			return "", err
		}
		data, err := RenderSMSFile(notices)
		if err != nil {
			return "", err
		}
		already, note, err := r.putSMS(ctx, runID, name, data)
		if err != nil {
			return "", fmt.Errorf("deliver %s: %w", name, err)
		}
		crashpoint.Here("notify:put")
		d := r.delivery("sms", strings.SplitN(strings.TrimPrefix(name, "ZTSMS_"), "_", 2)[0], r.SMS.Outbox.String(), name, data)
		d.Already, d.Note = already, note
		if err := r.Store.MarkSMSDelivered(ctx, runID, d); err != nil {
			return "", fmt.Errorf("deliver %s: it is at the SMS platform, and recording it as delivered failed "+
				"(finishing the run records it, without putting it again): %w", name, err)
		}
		if err := r.anchor(ctx, runID, name); err != nil {
			return "", err
		}
		res.SMSFiles = append(res.SMSFiles, name)
		r.log().Info("sms batch delivered", "run", runID, "file", name, "messages", len(notices))
	}
	return fmt.Sprintf("files=%d delivered=%d", len(made), len(res.SMSFiles)), nil
}

// putSMS puts an SMS file into the platform's folder. The platform takes
// the files it finds and may move them away, so a file put again after it
// was taken would send its messages twice. Where the folder can stage (see
// Stager), the file is staged, the start of its delivery recorded, and only
// then committed into place; an attempt cut off after that start is
// finished by committing the staged copy if it is still there, and, if
// neither it nor the file is (the file was committed and taken), by putting
// nothing and saying so in the note. Elsewhere it is Put, as before.
func (r *Runner) putSMS(ctx context.Context, runID int64, name string, data []byte) (already bool, note string, err error) {
	st, ok := r.SMS.Outbox.(Stager)
	if !ok {
		already, err := r.SMS.Outbox.Put(ctx, name, data)
		return already, "", err
	}
	began, err := r.Store.SMSDeliveryRun(ctx, name)
	if err != nil {
		return false, "", err
	}
	if began == 0 {
		if already, err := st.Stage(ctx, name, data); err != nil || already {
			return already, "", err
		}
		crashpoint.Here("notify:begin")
		if err := r.Store.BeginSMSDelivery(ctx, runID, name); err != nil {
			return false, "", err
		}
	}
	already, err = st.Commit(ctx, name, data)
	if began == 0 || !errors.Is(err, ErrNotStaged) {
		return already, "", err
	}
	// Run began staged the file and recorded that it would commit it. With
	// neither the file nor its staged copy there now, the file was committed
	// and has been taken (by the platform, or removed by hand with its
	// staged copy), unless the folder itself is gone, which says nothing of
	// its files.
	loc := r.SMS.Outbox.String()
	if err := checkFolder(ctx, r.SMS.Outbox); err != nil {
		return false, "", fmt.Errorf("run %d began committing it into %s, and the folder itself cannot be checked now (%w): "+
			"whether the platform took the file cannot be told, so nothing is put or recorded; rerun once the folder is back", began, loc, err)
	}
	r.log().Warn(fmt.Sprintf("sms batch recorded as delivered without putting it again: run %d committed it, and it has left "+
		"the platform's folder since (taken by the platform, or removed)", began), "run", runID, "file", name, "location", loc)
	return true, fmt.Sprintf("not put again: run %d committed the file, which had left the folder", began), nil
}

func (r *Runner) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}

func (r *Runner) report(ctx context.Context, runID int64, res *Result) (string, error) {
	dir, sum, err := r.Reports.Write(ctx, runID, r.Store)
	if err != nil {
		return "", err
	}
	res.ReportDir, res.Summary = dir, sum
	return "dir=" + dir, nil
}
