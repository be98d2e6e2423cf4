package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"zhutui/connectors/anchor"
	"zhutui/connectors/csvfile"
	"zhutui/connectors/localdir"
	"zhutui/connectors/report"
	"zhutui/connectors/sqlite"
	"zhutui/fixtures"
	"zhutui/pipeline"
)

func cmdInit(ctx context.Context, app *App, args []string) error {
	fs := app.flags("init")
	if err := app.parse(fs, args); err != nil {
		return err
	}
	if _, err := os.Stat(app.configPath); os.IsNotExist(err) && !app.explicit {
		if err := os.WriteFile(app.configPath, []byte(defaultConfig), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(app.stdout, "wrote %s with the defaults\n", app.configPath)
	}
	cfg, err := app.config()
	if err != nil {
		return err
	}
	prog, from, err := configuredProgramme(cfg)
	if err != nil {
		return err
	}
	if err := restoreCutOff(cfg.Database); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Database), 0o755); err != nil {
		return err
	}
	st, err := sqlite.Open(ctx, cfg.Database)
	if err != nil {
		return err
	}
	defer st.Close()
	st.Now = app.now
	// The programme is what a night decides by: not changed under one.
	lease, err := app.lease(ctx, st, "init")
	if err != nil {
		return err
	}
	defer lease.Release()
	changed, err := st.LoadProgramme(ctx, prog)
	if errors.Is(err, sqlite.ErrOtherProgramme) {
		return configError{err}
	}
	if err != nil {
		return err
	}
	if err := app.useLedgerKey(ctx, st, cfg, true); err != nil {
		return err
	}
	fmt.Fprintf(app.stdout, "database %s is ready\n", cfg.Database)
	if changed {
		fmt.Fprintf(app.stdout, "loaded programme %s (%s, %s): %d occupations\n", prog.Code, prog.Name, from, len(prog.Catalog))
	} else {
		fmt.Fprintf(app.stdout, "programme %s is loaded and unchanged\n", prog.Code)
	}
	for _, raw := range []string{cfg.Locations.Registrations, cfg.Locations.Certificates, cfg.Locations.Results,
		cfg.Locations.Payments, cfg.Locations.SMS} {
		if d, err := localdir.Parse(raw); err == nil {
			if err := os.MkdirAll(d.Path, 0o755); err != nil {
				return err
			}
		}
	}
	return nil
}

func cmdRun(ctx context.Context, app *App, args []string) error {
	fs := app.flags("run")
	asOf := fs.String("as-of", "", "business date YYYY-MM-DD (default: today in Beijing)")
	if err := app.parse(fs, args); err != nil {
		return err
	}
	date, err := app.businessDate(*asOf)
	if err != nil {
		return err
	}
	cfg, st, err := app.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if *asOf != "" {
		if err := notBeforeLatestBatch(ctx, st, date); err != nil {
			return err
		}
	}
	res, err := app.cycle(ctx, cfg, st, date, pipeline.TriggerManual, 0)
	app.printResult(res)
	return err
}

// cycle runs one nightly cycle under the run lease: a new run for a business
// date, or (rerun > 0) the stages of a recorded run again.
func (app *App) cycle(ctx context.Context, cfg *Config, st *sqlite.Store, date pipeline.Date, trigger pipeline.Trigger, rerun int64) (*pipeline.Result, error) {
	if err := sameProgramme(ctx, cfg, st); err != nil {
		return nil, err
	}
	r, err := app.runner(cfg, st)
	if err != nil {
		return nil, err
	}
	lease, err := app.lease(ctx, st, string(trigger))
	if err != nil {
		return nil, err
	}
	defer lease.Release()
	if err := app.anchor(cfg, st).Ready(ctx); err != nil {
		return nil, err
	}
	runID := rerun
	if runID == 0 {
		if runID, err = st.BeginRun(ctx, date, trigger); err != nil {
			return nil, err
		}
	} else if err := st.RestartRun(ctx, runID); err != nil {
		return nil, err
	}
	if err := lease.SetRun(ctx, runID); err != nil {
		return nil, err
	}
	res, err := r.Resume(ctx, runID)
	if err == nil && res.Books() != "" {
		// Every stage ran, but the books do not agree: the night's work is
		// not done, and whoever runs it must hear so (exit 1).
		err = fmt.Errorf("run %d finished, but %s; see %s", runID, res.Books(), res.ReportDir)
	}
	return res, err
}

// notBeforeLatestBatch refuses a date given with --as-of that is before a
// batch already made. A run names its batches by its business date and gives
// it to their payment files as the value date: an earlier one would have the
// bank pay later payments under an earlier date than payments it was sent
// before (a night redone by its date after a later one ran, say, where zhutui
// rerun is what finishes a failed run). The same date, or a later one, is as
// any night. Today's date, the default and the daemon's, is not checked: a
// clock that ran ahead and was mended must not stop the nights until the
// wrong date comes round.
func notBeforeLatestBatch(ctx context.Context, st *sqlite.Store, date pipeline.Date) error {
	id, latest, err := st.LatestBatch(ctx)
	if err != nil || latest == "" || date.String() >= latest {
		return err
	}
	return configErrorf("business date %s is before %s, the date of batch %s: a run's batches are named and value-dated "+
		"by its business date, which does not go back before batches already made (to finish a run that failed: "+
		"zhutui rerun RUN_ID; the default --as-of is today)", date, latest, id)
}

// configuredProgramme reads the programme the configuration names, or the
// built-in one, and says where it came from.
func configuredProgramme(cfg *Config) (*pipeline.Programme, string, error) {
	src, from := fixtures.Programme2013, "built-in"
	if cfg.Programme != "" {
		var err error
		if src, err = os.ReadFile(cfg.Programme); err != nil {
			return nil, "", configErrorf("programme: %v", err)
		}
		from = cfg.Programme
	}
	p, err := pipeline.ParseProgramme(src)
	if err != nil {
		return nil, "", configErrorf("%s: %v", from, err)
	}
	return p, from, nil
}

// sameProgramme refuses a run when the configured programme is not the
// programme zhutui init loaded: the run would judge by other rules than the
// configuration says. The built-in programme is held to its code alone: a
// new binary's built-in programme, changed, is loaded by zhutui init too.
func sameProgramme(ctx context.Context, cfg *Config, st *sqlite.Store) error {
	p, from, err := configuredProgramme(cfg)
	if err != nil {
		return err
	}
	loaded, err := st.Programme(ctx)
	if err != nil {
		return err
	}
	switch {
	case p.Code != loaded.Code:
		return configErrorf("the configuration's programme is %s (%s), but zhutui init loaded programme %s into this "+
			"database: it loads another programme only into a database with no registration yet, so a later "+
			"programme takes a database of its own", p.Code, from, loaded.Code)
	case cfg.Programme != "" && !bytes.Equal(p.Source(), loaded.Source()):
		return configErrorf("programme %s is not the programme %s that zhutui init loaded: run zhutui init to load it "+
			"(every registration is then judged again under it)", cfg.Programme, loaded.Code)
	}
	return nil
}

// lease takes the database's run lease for this process.
func (app *App) lease(ctx context.Context, st *sqlite.Store, command string) (*sqlite.Lease, error) {
	host, _ := os.Hostname()
	name := "?"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return st.AcquireLease(ctx, pipeline.Holder{User: name, Host: host, PID: os.Getpid(), Command: command})
}

func cmdRerun(ctx context.Context, app *App, args []string) error {
	fs := app.flags("rerun")
	if err := app.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return configErrorf("usage: zhutui rerun RUN_ID")
	}
	runID, err := strconv.ParseInt(fs.Arg(0), 10, 64)
	if err != nil || runID <= 0 {
		return configErrorf("%q is not a run id", fs.Arg(0))
	}
	cfg, st, err := app.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	run, err := st.Run(ctx, runID)
	if err != nil {
		return err
	}
	if run.Outcome == pipeline.OutcomeSucceeded {
		fmt.Fprintf(app.stdout, "run %d succeeded already: nothing to finish\n", runID)
		return nil
	}
	if run.Trigger == pipeline.TriggerIngest {
		return fmt.Errorf("run %d was a manual ingest: ingest its files again instead", runID)
	}
	// A nightly run begun after this one took every stage again: its
	// rerun would only batch today's payments under this run's older date.
	later, err := st.RunsAfter(ctx, runID)
	if err != nil {
		return err
	}
	if _, done, ok := pipeline.Supersede(run, later); ok {
		if done {
			fmt.Fprintf(app.stdout, "run %d: %s\n", runID, pipeline.FinishHintAfter(run, later))
			return nil
		}
		return configErrorf("run %d is not rerun: %s (this one would batch under its business date %s)",
			runID, pipeline.FinishHintAfter(run, later), run.BusinessDate)
	}
	res, err := app.cycle(ctx, cfg, st, run.BusinessDate, pipeline.TriggerRerun, runID)
	app.printResult(res)
	return err
}

// printResult tells the operator what a run did.
func (app *App) printResult(res *pipeline.Result) {
	if res == nil || res.RunID == 0 {
		return
	}
	w := app.stdout
	fmt.Fprintf(w, "run %d\n", res.RunID)
	for _, t := range res.Files {
		if t.NotTaken != "" {
			fmt.Fprintf(w, "  %-13s %s: NOT TAKEN: %s; the next run takes it\n", t.Kind, pipeline.OneLine(t.Name), t.NotTaken)
			continue
		}
		if t.Quarantined != "" {
			fmt.Fprintf(w, "  %-13s %s: QUARANTINED: %s\n", t.Kind, pipeline.OneLine(t.Name), pipeline.OneLine(t.Quarantined))
			continue
		}
		fmt.Fprintf(w, "  %-13s %s: %d applied, %d unchanged, %d rejected\n", t.Kind, pipeline.OneLine(t.Name), t.Applied, t.Unchanged, t.Rejected)
	}
	if res.Failed != pipeline.StageCollect { // reconcile ran, in this attempt or an earlier one
		c := res.Reconcile
		fmt.Fprintf(w, "  reconcile: %d judged, %d changed; payments: %d decided, %d withdrawn, %d reissued\n",
			c.Judged, c.Changed, c.Payments.Decided, c.Payments.Withdrawn, c.Payments.Reissued)
	}
	for _, b := range res.Batches {
		fmt.Fprintf(w, "  batch %s: %s, %s yuan, %s\n", b.ID, pipeline.Counted(b.Count, "line", "lines"), pipeline.FormatFen(b.TotalFen), b.Status)
	}
	for _, id := range res.Delivered {
		fmt.Fprintf(w, "  delivered %s\n", pipeline.PaymentFileName(id))
	}
	if res.Summary != nil {
		printAwaiting(w, res)
	}
	if res.Held != "" {
		fmt.Fprintf(w, "  MONEY HELD: %s\n", res.Held)
	}
	if res.Summary != nil {
		for _, t := range res.Summary.ByStatus {
			fmt.Fprintf(w, "  %-26s %8d", t.Key, t.Count)
			if t.Payable > 0 {
				fmt.Fprintf(w, "  %14s yuan", pipeline.FormatFen(t.AmountFen))
			}
			fmt.Fprintln(w)
		}
	}
	if res.Summary != nil {
		fmt.Fprintf(w, "  verdict: %s\n", res.Summary.Verdict())
		fmt.Fprintf(w, "  ledger head: %s\n", res.Summary.Money.HeadHash)
	}
	if res.ReportDir != "" {
		fmt.Fprintf(w, "  report: %s\n", res.ReportDir)
	}
}

// printAwaiting names the batches that still wait for approval but for those
// this attempt's batch stage made (listed above it): a night goes on without
// them, also after approval was turned off, since they were made to be
// approved. They were made by earlier runs, or, in a rerun, by this run's
// earlier attempt, so the line does not say by which.
func printAwaiting(w io.Writer, res *pipeline.Result) {
	made := map[string]bool{}
	for _, b := range res.Batches {
		made[b.ID] = true
	}
	var ids []string
	var fen int64
	for _, b := range res.Summary.Money.Batches {
		if b.Status == pipeline.BatchAwaitingApproval && !made[b.ID] {
			ids = append(ids, b.ID)
			fen += b.FileFen
		}
	}
	if len(ids) == 0 {
		return
	}
	const shown = 5
	list := strings.Join(ids[:min(len(ids), shown)], ", ")
	if len(ids) > shown {
		list += fmt.Sprintf(" and %d more", len(ids)-shown)
	}
	fmt.Fprintf(w, "  still awaiting approval: %s, %s yuan: %s (zhutui batch approve ID... --by USER)\n",
		pipeline.Counted(int64(len(ids)), "batch", "batches"), pipeline.FormatFen(fen), list)
}

// kindNames name the kinds of inbound file as the people who send them do.
var kindNames = map[pipeline.FileKind]string{
	pipeline.KindRegistrations: "a registration export",
	pipeline.KindCertificates:  "a certificate feed",
	pipeline.KindResults:       "a bank result file",
}

// firstLineKind says which kind of inbound file a file's first line shows it
// to be, or "" when it does not tell (an empty or unreadable file, say, which
// its take then reports). A file given as the wrong kind is refused before
// anything is recorded: quarantined as that kind, its bytes would be refused
// as the right one too, since a file is known by location, name and SHA-256.
func firstLineKind(path string) pipeline.FileKind {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	line, _ := bufio.NewReaderSize(f, 64<<10).ReadSlice('\n')
	if bytes.HasPrefix(line, []byte("H|")) {
		return pipeline.KindResults
	}
	return csvfile.HeaderKind(line)
}

func cmdIngest(ctx context.Context, app *App, args []string) error {
	fs := app.flags("ingest")
	if err := app.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 2 {
		return configErrorf("usage: zhutui ingest registrations|certificates|results FILE...")
	}
	kind := pipeline.FileKind(fs.Arg(0))
	if kind != pipeline.KindRegistrations && kind != pipeline.KindCertificates && kind != pipeline.KindResults {
		return configErrorf("unknown kind %q (want registrations, certificates or results)", kind)
	}
	// A file that is not there (yet) fails the command before anything is
	// recorded: no failed run is left for status to show.
	for _, path := range fs.Args()[1:] {
		if fi, err := os.Stat(path); err != nil {
			if pe := (*os.PathError)(nil); errors.As(err, &pe) {
				err = pe.Err
			}
			return fmt.Errorf("%s: %w", path, err)
		} else if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s is not a file", path)
		}
		if got := firstLineKind(path); got != "" && got != kind {
			return configErrorf("%s is not %s: its first line is the header of %s (zhutui ingest %s %s)",
				path, kindNames[kind], kindNames[got], got, path)
		}
	}
	_, st, err := app.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	lease, err := app.lease(ctx, st, string(pipeline.TriggerIngest))
	if err != nil {
		return err
	}
	defer lease.Release()
	runID, err := st.BeginRun(ctx, pipeline.DateOf(app.now()), pipeline.TriggerIngest)
	if err != nil {
		return err
	}
	if err := lease.SetRun(ctx, runID); err != nil {
		return err
	}
	if err := st.StartStage(ctx, runID, pipeline.StageCollect); err != nil {
		return fmt.Errorf("run %d (ingest): record its start: %w", runID, err)
	}
	var failed []string
	for _, path := range fs.Args()[1:] {
		abs, err := filepath.Abs(path)
		if err != nil {
			return err
		}
		t, err := pipeline.TakeFile(ctx, st, formats, kind, localdir.New(filepath.Dir(abs)), filepath.Base(abs), runID, app.now())
		switch {
		case err != nil:
			failed = append(failed, err.Error())
		case t.NotTaken != "":
			failed = append(failed, fmt.Sprintf("%s: %s; ingest it again once it is written", path, t.NotTaken))
		case t.Skipped && t.Quarantined != "":
			failed = append(failed, fmt.Sprintf("%s: %s", path, t.Quarantined))
		case t.Skipped:
			fmt.Fprintf(app.stdout, "%s: taken before (same name and content), skipped\n", path)
		case t.Quarantined != "":
			failed = append(failed, fmt.Sprintf("%s: quarantined: %s", path, t.Quarantined))
		default:
			fmt.Fprintf(app.stdout, "%s: %d applied, %d unchanged, %d rejected\n", path, t.Applied, t.Unchanged, t.Rejected)
			for _, r := range t.Rejects {
				fmt.Fprintf(app.stderr, "  rejected %s\n", r.Error())
			}
			if t.Rejected > len(t.Rejects) {
				fmt.Fprintf(app.stderr, "  … and %d more rejected rows (see the report)\n", t.Rejected-len(t.Rejects))
			}
		}
	}
	var err2 error
	if len(failed) > 0 {
		err2 = errors.New(strings.Join(failed, "\n"))
	}
	err = st.FinishStage(ctx, runID, pipeline.StageCollect, fmt.Sprintf("files=%d", fs.NArg()-1), err2)
	if err == nil {
		err = st.FinishRun(ctx, runID, err2)
	}
	if err != nil {
		err = fmt.Errorf("run %d (ingest): recording how it ended failed: %w", runID, err)
		if err2 != nil {
			return fmt.Errorf("%w\n%w", err2, err)
		}
		return err
	}
	return err2
}

// sameFolder says whether a and b name one folder (the same path cleaned, or
// the same file once both exist).
func sameFolder(a, b string) bool {
	if x, err := filepath.Abs(a); err == nil {
		if y, err := filepath.Abs(b); err == nil && x == y {
			return true
		}
	}
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}

func cmdReport(ctx context.Context, app *App, args []string) error {
	fs := app.flags("report")
	runFlag := fs.String("run", "", "the run to report on (default: the latest)")
	out := fs.String("out", "", "folder to write the report under (default: the configured reports folder)")
	if err := app.parse(fs, args); err != nil {
		return err
	}
	cfg, st, err := app.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	// A report is not written while a run or an ingest is changing what it
	// reads (it would mix states, and the night's own report writes the
	// same folder and state): it waits its turn like they do.
	lease, err := app.lease(ctx, st, "report")
	if err != nil {
		return err
	}
	defer lease.Release()
	last, err := st.LastRunID(ctx)
	if err != nil {
		return err
	}
	runID := last
	if *runFlag != "" {
		if runID, err = strconv.ParseInt(*runFlag, 10, 64); err != nil {
			return configErrorf("--run %q: not a run id", *runFlag)
		}
		if runID < 1 || runID > last {
			return configErrorf("--run %d: no such run (the last is %d)", runID, last)
		}
	} else if runID == 0 {
		return errors.New("no run yet: nothing to report")
	}
	dir, configured := cfg.Reports, true
	if *out != "" {
		// --out naming the reports folder itself (./reports/, a link to it)
		// is the reports folder.
		dir, configured = *out, sameFolder(*out, cfg.Reports)
	}
	// A report shows the state now. The report an earlier run wrote is what
	// finance staff reviewed then: it is not replaced by today's state.
	if earlier := filepath.Join(dir, fmt.Sprintf("run-%d", runID)); runID != last && configured {
		if _, err := os.Stat(earlier); err == nil {
			return configErrorf("run %d is not the last run (%d): its report %s stays as it was written. "+
				"A report shows the state now; to write one with run %d's files and rejects, give --out DIR, a folder "+
				"other than the reports folder %s", runID, last, earlier, runID, cfg.Reports)
		}
	}
	log, err := app.logger()
	if err != nil {
		return err
	}
	// The state for the next night's report is kept in the configured
	// folder only: a report written elsewhere reads every registration.
	w := &report.Writer{Dir: dir, XLSXMaxRegistrations: cfg.XLSXMaxRegistrations, KeepState: configured, Log: log}
	path, sum, err := w.Write(ctx, runID, st)
	if err != nil {
		return err
	}
	fmt.Fprintf(app.stdout, "report of run %d: %s\n  verdict: %s\n", runID, path, sum.Verdict())
	return nil
}

func cmdStatus(ctx context.Context, app *App, args []string) error {
	fs := app.flags("status")
	n := fs.Int("runs", 10, "how many of the last runs to show")
	check := fs.Bool("check", false, "for monitoring: list what needs a person at the end, and exit 1 when something does "+
		"(runs refused, the last run failed or cut off, the books not agreeing or the ledger not verifying, a database others can read, "+
		"no copy since the last nightly run)")
	if err := app.parse(fs, args); err != nil {
		return err
	}
	if *n < 1 {
		return configErrorf("--runs %d: want 1 or more", *n)
	}
	cfg, st, err := app.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	host, _ := os.Hostname()
	r, err := st.Status(ctx, *n, host)
	if err != nil {
		return err
	}
	w := app.stdout
	var attention []string // what needs a person, for --check
	// What stops the next run before it is recorded shows here too.
	if err := sameProgramme(ctx, cfg, st); err != nil {
		fmt.Fprintf(w, "runs are refused: %v\n\n", err)
		attention = append(attention, "runs are refused: "+err.Error())
	}
	if err := app.anchor(cfg, st).Check(ctx); err != nil {
		fmt.Fprintf(w, "runs are refused: %v\n\n", err)
		if errors.Is(err, anchor.ErrBehind) {
			err = fmt.Errorf("%w (%s)", anchor.ErrBehind, cfg.Ledger.AnchorFile) // its whole story is above
		}
		attention = append(attention, "runs are refused: "+err.Error())
	}
	if fi, err := os.Stat(cfg.Database); err == nil && fi.Mode().Perm()&0o004 != 0 {
		attention = append(attention, "the database can be read by every user of this machine")
		fmt.Fprintf(w, "the database %s can be read by every user of this machine (mode %v), and it holds the members'\n"+
			"    ID and card numbers in full: chmod 600 %[1]s %[1]s-wal %[1]s-shm\n\n", cfg.Database, fi.Mode().Perm())
	}
	if len(r.Runs) == 0 {
		fmt.Fprintln(w, "no run yet")
	}
	for i := len(r.Runs) - 1; i >= 0; i-- {
		run := r.Runs[i]
		fmt.Fprintf(w, "run %d  %s  %-14s %-9s %s .. %s\n", run.ID, run.BusinessDate, run.Trigger, run.Outcome, run.StartedAt, run.FinishedAt)
		said := false // the run's error is its failed stage's, shown already
		for _, s := range run.Stages {
			if s.Outcome != pipeline.OutcomeSucceeded {
				fmt.Fprintf(w, "    stage %s %s: %s\n", s.Stage, s.Outcome, s.Error)
				said = said || s.Repeats(run.ID, run.Error)
			}
		}
		if i == 0 && run.Outcome == pipeline.OutcomeFailed {
			attention = append(attention, fmt.Sprintf("the last run, %d, failed: %s", run.ID, pipeline.FinishHintAfter(run, r.Runs[:i])))
		}
		if run.Error != "" && run.Outcome == pipeline.OutcomeFailed {
			if !said {
				fmt.Fprintf(w, "    error: %s\n", run.Error)
			}
			fmt.Fprintf(w, "    %s\n", pipeline.FinishHintAfter(run, r.Runs[:i])) // r.Runs: the latest first
		}
		if run.Outcome == pipeline.OutcomeRunning && !leaseOn(r, run.ID) {
			// No process holds it (one that could not record how it ended,
			// on a full disk): the next to take the lease records it failed.
			attention = append(attention, fmt.Sprintf("run %d ended without recording how: %s", run.ID, pipeline.FinishHintAfter(run, r.Runs[:i])))
			fmt.Fprintf(w, "    no process is running it: it ended without recording how (the next run, rerun, ingest, report or init records it "+
				"as failed)\n    %s\n", pipeline.FinishHintAfter(run, r.Runs[:i]))
		}
	}
	if r.FullVerification != "" {
		fmt.Fprintf(w, "\nthe whole ledger last verified: %s\n", r.FullVerification)
	} else {
		fmt.Fprintln(w, "\nthe whole ledger was never verified (zhutui ledger verify; zhutui daemon does it weekly)")
	}
	if stale := printBackups(w, cfg, r.Runs); stale != "" {
		attention = append(attention, stale)
	}
	if r.Verdict != "" && r.Verdict != pipeline.Reconciled {
		dir := r.VerdictDir // where that report went (zhutui report --out may have put it elsewhere)
		if dir == "" {
			dir = filepath.Join(cfg.Reports, fmt.Sprintf("run-%d", r.VerdictRun))
		}
		attention = append(attention, fmt.Sprintf("the books do not agree: the report of run %d says %s", r.VerdictRun, r.Verdict))
		fmt.Fprintf(w, "\nTHE BOOKS DO NOT AGREE: the report of run %d says %s\n"+
			"    no batch is made or delivered until a report reconciles: find the cause (zhutui ledger verify,\n"+
			"    %s), mend it, then write the report again (zhutui report)\n",
			r.VerdictRun, r.Verdict, filepath.Join(dir, "summary.txt"))
	}
	if _, failed, ok := strings.Cut(r.FullVerification, ", FAILED: "); ok {
		attention = append(attention, "the last verification of the whole ledger failed: "+failed)
	}
	if r.LeaseCutOff {
		attention = append(attention, fmt.Sprintf("%s stopped without giving up the run lease", r.LeaseHolder))
	}
	switch {
	case r.LeaseCutOff && r.LeaseRunID != 0:
		fmt.Fprintf(w, "\ncut off: %s stopped without finishing\n    %s\n", r.LeaseHolder, pipeline.FinishHint(r.LeaseRunID, r.LeaseRunBy))
	case r.LeaseCutOff:
		fmt.Fprintf(w, "\ncut off: %s stopped; the next command takes its lease over\n", r.LeaseHolder)
	case r.LeaseHolder != "":
		fmt.Fprintf(w, "\nworking now: %s\n", r.LeaseHolder)
	}
	if len(r.Quarantined) > 0 {
		fmt.Fprintln(w, "\nquarantined files (the last 10, latest first; when, what, why):")
		for _, f := range r.Quarantined {
			fmt.Fprintf(w, "  %s  %s %s/%s: %s\n", f.TakenAt, f.Kind, f.Location, pipeline.OneLine(f.Name), pipeline.OneLine(f.Reason))
		}
	}
	if len(r.Awaiting) > 0 {
		fmt.Fprintln(w, "\nbatches awaiting approval:")
		for _, b := range r.Awaiting {
			fmt.Fprintf(w, "  %s: %s, %s yuan, created %s  (zhutui batch approve %s --by USER)\n", b.ID, pipeline.Counted(b.Count, "line", "lines"),
				pipeline.FormatFen(b.TotalFen), b.CreatedAt, b.ID)
			batchAlerts(w, r, b.ID)
		}
	}
	if len(r.Approved) > 0 {
		fmt.Fprintln(w, "\napproved, for the next run to deliver:")
		for _, b := range r.Approved {
			fmt.Fprintf(w, "  %s: %s, %s yuan, approved %s by %s\n", b.ID, pipeline.Counted(b.Count, "line", "lines"), pipeline.FormatFen(b.TotalFen),
				b.ApprovedAt, pipeline.OneLine(b.ApprovedBy))
			batchAlerts(w, r, b.ID)
			switch {
			case b.DeliveryRun == 0:
			case r.LeaseHolder != "" && !r.LeaseCutOff && r.LeaseRunID == b.DeliveryRun:
				fmt.Fprintf(w, "    run %d is delivering it now: its file may be at the bank, so it cannot be rejected\n",
					b.DeliveryRun)
			default:
				fmt.Fprintf(w, "    its delivery began in run %d and is not recorded as done: its file may be at the bank, "+
					"so it cannot be rejected (%s)\n", b.DeliveryRun, pipeline.FinishDelivery(b.DeliveryRun, r.Runs))
			}
		}
	}
	if len(r.Sent) > 0 {
		fmt.Fprintln(w, "\nsent, waiting for the bank's result file:")
		for _, b := range r.Sent {
			fmt.Fprintf(w, "  %s: %s, %s yuan, sent %s (%s)\n", b.ID, pipeline.Counted(b.Count, "line", "lines"), pipeline.FormatFen(b.TotalFen),
				b.SentAt, pipeline.ResultFileName(b.ID))
		}
	}
	if r.Unbatched.Count > 0 {
		fmt.Fprintf(w, "\npayable, not in a batch yet: %s, %s yuan, for the next run's batch stage\n",
			pipeline.Counted(r.Unbatched.Count, "payment", "payments"), pipeline.FormatFen(r.Unbatched.AmountFen))
		if b := r.Budget; b != nil {
			fmt.Fprintf(w, "    the budget of %s yuan: %s; a batch takes only what fits\n", pipeline.FormatFen(b.BudgetFen), b.Left())
		}
	}
	if len(r.Waiting) > 0 {
		fmt.Fprintln(w, "\nwaiting:")
		for _, x := range r.Waiting {
			fmt.Fprintf(w, "  %-22s %6d  %s, oldest submitted %s\n", x.Status, x.Count, x.Status.Text(), x.OldestSubmitted)
		}
	}
	if !*check {
		return nil
	}
	if len(attention) == 0 {
		fmt.Fprintln(w, "\nnothing needs attention")
		return nil
	}
	fmt.Fprintln(w, "\nNEEDS ATTENTION:")
	for _, a := range attention {
		fmt.Fprintf(w, "  - %s\n", pipeline.OneLine(a))
	}
	if len(attention) == 1 {
		return errors.New("1 thing needs attention (listed at the end of the status)")
	}
	return fmt.Errorf("%d things need attention (listed at the end of the status)", len(attention))
}

// leaseOn says whether the run lease's holder may be working on run id: it
// is, it was when it was cut off (said below the runs), or it holds the lease
// and has not yet said which run it works on.
func leaseOn(r *pipeline.StatusReport, id int64) bool {
	return r.LeaseHolder != "" && (r.LeaseRunID == id || r.LeaseRunID == 0 && !r.LeaseCutOff)
}

// batchAlerts says under a batch not yet delivered how many of its payments
// changed after it was made: they are paid as the batch has them unless it is
// rejected.
func batchAlerts(w io.Writer, r *pipeline.StatusReport, id string) {
	if n := r.BatchAlerts[id]; n > 0 {
		fmt.Fprintf(w, "    %d alerts: payments changed after the batch was made (zhutui batch show %s)\n", n, id)
	}
}

// cmdBackup writes a copy of the database to a new file: whole and
// consistent while a night writes, unlike a copy of the file by hand. The
// ledger key and the anchor file stay apart from it, as they must.
func cmdBackup(ctx context.Context, app *App, args []string) error {
	fs := app.flags("backup")
	if err := app.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return configErrorf("usage: zhutui backup [FILE]")
	}
	cfg, st, err := app.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	// No FILE: the copy the daemon makes after a night, for nights run
	// by another scheduler (zhutui run && zhutui backup).
	path := fs.Arg(0)
	var removed []string
	var c sqlite.Copy
	if path == "" {
		if cfg.Backup.Folder == "" {
			return configErrorf("usage: zhutui backup FILE, or zhutui backup alone with [backup] folder set")
		}
		var nc nightlyCopy
		nc, err = backUpAfterTheNight(ctx, cfg, st, app.now())
		path, c, removed = nc.Path, nc.Copy, nc.Removed
	} else {
		c, err = st.Backup(ctx, path)
	}
	if errors.Is(err, sqlite.ErrBackupExists) {
		return configError{err}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(app.stdout, "backed up to %s (%d bytes, mode 0600): its ledger has %d entries, head hash %s\n"+
		"    it holds every member's ID and card number in full; keep the ledger key and the anchor file apart from it\n",
		path, c.Size, c.Entries, c.Head)
	for _, old := range removed {
		fmt.Fprintf(app.stdout, "    removed the oldest copy %s ([backup] keep = %d)\n", old, cfg.Backup.Keep)
	}
	return nil
}
