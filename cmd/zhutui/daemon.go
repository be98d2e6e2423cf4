package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/google/uuid"

	"zhutui/pipeline"
)

// nightConfig reads the configuration again for a night, so that what it
// says when the night starts is what the night does (approval turned on in
// the afternoon holds that night's batches): a daemon started days before
// would otherwise run with what it said then. A configuration that no longer
// loads fails the night, and so does another database, which the daemon has
// open (restart it); a changed schedule or ledger key file takes a restart
// too, and is said.
func nightConfig(started *Config, load func() (*Config, error)) (*Config, error) {
	night, err := load()
	if err != nil {
		return nil, fmt.Errorf("the configuration, read again for tonight's run: %w", err)
	}
	if night.Database != started.Database {
		return nil, fmt.Errorf("the configuration names the database %s, but the daemon has %s open since it started: "+
			"restart the daemon to run on it", night.Database, started.Database)
	}
	return night, nil
}

// cmdDaemon runs the nightly cycle on the configured schedule until SIGINT
// or SIGTERM. Runs never overlap (singleton mode; the run lease guards
// against other processes too). On a signal the running stage is cut at its
// next safe point (its transaction rolls back; the next run or `zhutui rerun`
// finishes it) and the daemon exits. A run missed while the machine was off
// is not caught up by the scheduler; the next run does what was missed.
func cmdDaemon(ctx context.Context, app *App, args []string) error {
	fs := app.flags("daemon")
	if err := app.parse(fs, args); err != nil {
		return err
	}
	cfg, st, err := app.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	log, err := app.logger()
	if err != nil {
		return err
	}
	loc, err := time.LoadLocation(cfg.Schedule.TimeZone)
	if err != nil {
		return configErrorf("[schedule] time_zone %q: %v", cfg.Schedule.TimeZone, err)
	}
	s, err := gocron.NewScheduler(gocron.WithLocation(loc))
	if err != nil {
		return err
	}
	// A cron expression of six fields has seconds first.
	cron := func(expr string) gocron.JobDefinition { return gocron.CronJob(expr, len(strings.Fields(expr)) == 6) }
	// The nightly run and the ledger's verification take turns. The
	// verification reads one snapshot, so a run cannot make it wrong, but
	// the two would compete for both cores, and a snapshot held through a
	// night keeps the WAL from being checkpointed.
	var turns sync.Mutex
	job, err := s.NewJob(
		cron(cfg.Schedule.Cron),
		gocron.NewTask(func(jctx context.Context) error {
			turns.Lock()
			defer turns.Unlock()
			date := pipeline.DateOf(app.now())
			log.Info("scheduled run starting", "business_date", date.String())
			night, err := nightConfig(cfg, app.config)
			if err != nil {
				return err
			}
			if night.Schedule != cfg.Schedule {
				log.Warn("the configuration's [schedule] changed since the daemon started: restart it to take the new one",
					"cron", night.Schedule.Cron, "verify_cron", night.Schedule.VerifyCron, "time_zone", night.Schedule.TimeZone)
			}
			if night.Ledger.KeyFile != cfg.Ledger.KeyFile {
				log.Warn("the configuration's [ledger] key_file changed since the daemon started: it goes on with the key "+
					"it read then; restart it to take the new one", "key_file", night.Ledger.KeyFile)
			}
			res, err := app.cycle(jctx, night, st, date, pipeline.TriggerSchedule, 0)
			if res != nil && res.Summary != nil {
				log.Info("scheduled run finished", "run", res.RunID, "verdict", res.Summary.Verdict())
			}
			// The copy holds what the night did, whether it finished or
			// not (a failed night may have delivered files); a night
			// skipped because another zhutui works did nothing to copy.
			var busy *pipeline.BusyError
			if night.Backup.Folder != "" && !errors.As(err, &busy) && jctx.Err() == nil {
				nc, berr := backUpAfterTheNight(jctx, night, st, app.now())
				if berr != nil {
					log.Error("BACKUP FAILED: the newest copy of the database is older than this night's work", "err", berr)
				} else {
					log.Info("database backed up", "file", nc.Path, "bytes", nc.Copy.Size, "ledger_entries", nc.Copy.Entries,
						"ledger_head", nc.Copy.Head, "old_copies_removed", len(nc.Removed))
				}
			}
			return err
		}),
		gocron.WithName("nightly"),
		gocron.WithContext(ctx),
		gocron.WithSingletonMode(gocron.LimitModeReschedule),
		gocron.WithEventListeners(gocron.AfterJobRunsWithError(func(_ uuid.UUID, _ string, err error) {
			var busy *pipeline.BusyError
			if errors.As(err, &busy) {
				log.Warn("scheduled run skipped", "reason", busy.Error())
				return
			}
			log.Error("scheduled run failed", "err", err)
		})),
	)
	if err != nil {
		return configErrorf("[schedule] cron %q: %v", cfg.Schedule.Cron, err)
	}
	// Each night verifies only the ledger entries it adds; the whole chain is
	// verified on its own schedule. A bad entry holds money from the next
	// run on (see verifyWholeLedger).
	if vc := cfg.Schedule.VerifyCron; vc != "off" {
		_, err := s.NewJob(
			cron(vc),
			gocron.NewTask(func(jctx context.Context) {
				turns.Lock()
				defer turns.Unlock()
				rep, err := verifyWholeLedger(jctx, st)
				switch {
				case rep != nil && !rep.OK() && err != nil:
					log.Error("THE LEDGER DOES NOT VERIFY, and this could not be recorded: money may still move",
						"first_bad_entry", rep.FirstBad, "problem", rep.Problems[0], "problems", len(rep.Problems), "err", err)
				case rep != nil && !rep.OK():
					log.Error("THE LEDGER DOES NOT VERIFY: no money moves until it does", "first_bad_entry", rep.FirstBad,
						"problem", rep.Problems[0], "problems", len(rep.Problems))
				case err != nil:
					log.Error("ledger verification failed", "err", err)
				default:
					log.Info("ledger verified", "entries", rep.Entries, "head", rep.HeadHash)
				}
			}),
			gocron.WithName("verify"),
			gocron.WithContext(ctx),
			gocron.WithSingletonMode(gocron.LimitModeReschedule),
		)
		if err != nil {
			return configErrorf("[schedule] verify_cron %q: %v", vc, err)
		}
	}
	s.Start()
	next, _ := job.NextRun()
	log.Warn("daemon started", "cron", cfg.Schedule.Cron, "verify_cron", cfg.Schedule.VerifyCron, "time_zone", loc.String(),
		"next_run", next.In(loc).Format(time.RFC3339), "backup_folder", cfg.Backup.Folder)
	fmt.Fprintf(app.stdout, "zhutui daemon: schedule %q (%s); next run %s; the whole ledger verified %q\n", cfg.Schedule.Cron, loc,
		next.In(loc).Format("2006-01-02 15:04:05"), cfg.Schedule.VerifyCron)
	if cfg.Backup.Folder != "" {
		fmt.Fprintf(app.stdout, "zhutui daemon: the database copied to %s after each night, the newest %d kept\n", cfg.Backup.Folder, cfg.Backup.Keep)
	} else {
		fmt.Fprintln(app.stdout, "zhutui daemon: no copy of the database is made ([backup] folder is not set)")
	}
	<-ctx.Done()
	log.Warn("daemon stopping: the running stage, if any, stops at its next safe point")
	if err := s.Shutdown(); err != nil {
		return err
	}
	log.Warn("daemon stopped")
	fmt.Fprintln(app.stdout, "zhutui daemon: stopped")
	return nil
}
