package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"zhutui/connectors/anchor"
	"zhutui/connectors/bankfile"
	"zhutui/connectors/csvfile"
	"zhutui/connectors/localdir"
	"zhutui/connectors/report"
	"zhutui/connectors/sftp"
	"zhutui/connectors/sqlite"
	"zhutui/pipeline"
)

// openStore loads the configuration and opens an existing database.
func (app *App) openStore(ctx context.Context) (*Config, *sqlite.Store, error) {
	cfg, err := app.config()
	if err != nil {
		return nil, nil, err
	}
	if err := restoreCutOff(cfg.Database); err != nil {
		return nil, nil, err
	}
	if _, err := os.Stat(cfg.Database); os.IsNotExist(err) {
		return nil, nil, configErrorf("no database at %s: run `zhutui init` first", cfg.Database)
	}
	st, err := sqlite.Open(ctx, cfg.Database)
	if err != nil {
		return nil, nil, err
	}
	st.Now = app.now
	if err := app.useLedgerKey(ctx, st, cfg, false); err != nil {
		st.Close()
		return nil, nil, err
	}
	return cfg, st, nil
}

// location turns a configured URL into a location. SFTP locations are closed
// by app.close.
func (app *App) location(cfg *Config, raw string) (pipeline.Location, error) {
	switch {
	case strings.HasPrefix(raw, "file://"):
		d, err := localdir.Parse(raw)
		if err != nil {
			return nil, configError{err}
		}
		return d, nil
	case strings.HasPrefix(raw, "sftp://"):
		l, err := sftp.Parse(raw, sftp.Options{KeyFile: cfg.SSH.KeyFile, KnownHosts: cfg.SSH.KnownHosts,
			Password: os.Getenv("ZHUTUI_SFTP_PASSWORD"), Timeout: time.Duration(cfg.SSH.TimeoutSeconds) * time.Second,
			Retries: cfg.sshRetries()})
		if err != nil {
			return nil, configError{err}
		}
		app.closers = append(app.closers, l)
		return l, nil
	default:
		return nil, configErrorf("location %q: want file:///abs/dir or sftp://user@host:port/abs/dir", sftp.Redact(raw))
	}
}

// close closes what the invocation opened.
func (app *App) close() {
	for _, c := range app.closers {
		c.Close()
	}
	app.closers = nil
}

// formats are the inbound file formats.
var formats = pipeline.Formats{
	Inspect:       csvfile.Inspect,
	Registrations: csvfile.Registrations,
	Certificates:  csvfile.Certificates,
	Result:        bankfile.ParseResult,
}

// runner wires a nightly cycle from the configuration.
// anchor is the database's anchor file (connectors/anchor).
func (app *App) anchor(cfg *Config, st *sqlite.Store) *anchor.File {
	return &anchor.File{Path: cfg.Ledger.AnchorFile, Ledger: st, Now: func() time.Time { return app.now().In(pipeline.Beijing) }}
}

func (app *App) runner(cfg *Config, st *sqlite.Store) (*pipeline.Runner, error) {
	log, err := app.logger()
	if err != nil {
		return nil, err
	}
	r := &pipeline.Runner{Store: st, Formats: formats, Log: log, Now: app.now,
		Reports: &report.Writer{Dir: cfg.Reports, XLSXMaxRegistrations: cfg.XLSXMaxRegistrations, KeepState: true, Log: log},
		Bank: pipeline.Banking{PayerAccount: cfg.Bank.PayerAccount, MaxLines: cfg.Bank.MaxLines,
			ApprovalRequired: *cfg.Approval.Required, Format: bankfile.Format{}},
		Anchor: app.anchor(cfg, st)}
	if r.Bank.Payments, err = app.location(cfg, cfg.Locations.Payments); err != nil {
		return nil, fmt.Errorf("locations.payments: %w", err)
	}
	if r.Bank.Results, err = app.location(cfg, cfg.Locations.Results); err != nil {
		return nil, fmt.Errorf("locations.results: %w", err)
	}
	r.SMS.Templates = pipeline.SMSTemplates{Paid: cfg.SMSTemplates.Paid, Returned: cfg.SMSTemplates.Returned}
	if r.SMS.Outbox, err = app.location(cfg, cfg.Locations.SMS); err != nil {
		return nil, fmt.Errorf("locations.sms: %w", err)
	}
	for _, in := range []struct {
		kind pipeline.FileKind
		url  string
	}{
		{pipeline.KindCertificates, cfg.Locations.Certificates},
		{pipeline.KindRegistrations, cfg.Locations.Registrations},
	} {
		loc, err := app.location(cfg, in.url)
		if err != nil {
			return nil, fmt.Errorf("locations.%s: %w", in.kind, err)
		}
		r.Inboxes = append(r.Inboxes, pipeline.Inbox{Kind: in.kind, Location: loc})
	}
	return r, nil
}
