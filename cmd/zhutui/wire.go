package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"zhutui/connectors/bankfile"
	"zhutui/connectors/csvfile"
	"zhutui/connectors/localdir"
	"zhutui/connectors/report"
	"zhutui/connectors/sqlite"
	"zhutui/pipeline"
)

// openStore loads the configuration and opens an existing database.
func (app *App) openStore(ctx context.Context) (*Config, *sqlite.Store, error) {
	cfg, err := app.config()
	if err != nil {
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
	key, err := app.ledgerKey(cfg, false)
	if err == nil {
		err = st.SetLedgerKey(ctx, key)
	}
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return cfg, st, nil
}

// location turns a configured URL into a location.
func location(raw string) (pipeline.Location, error) {
	switch {
	case strings.HasPrefix(raw, "file://"):
		d, err := localdir.Parse(raw)
		if err != nil {
			return nil, configError{err}
		}
		return d, nil
	default:
		return nil, configErrorf("location %q: only file:// locations are supported so far", raw)
	}
}

// formats are the inbound file formats.
var formats = pipeline.Formats{
	Inspect:       csvfile.Inspect,
	Registrations: csvfile.Registrations,
	Certificates:  csvfile.Certificates,
	Result:        bankfile.ParseResult,
}

// runner wires a nightly cycle from the configuration.
func (app *App) runner(cfg *Config, st *sqlite.Store) (*pipeline.Runner, error) {
	log, err := app.logger()
	if err != nil {
		return nil, err
	}
	r := &pipeline.Runner{Store: st, Formats: formats, Reports: &report.Writer{Dir: cfg.Reports}, Log: log, Now: app.now,
		Bank: pipeline.Banking{PayerAccount: cfg.Bank.PayerAccount, MaxLines: cfg.Bank.MaxLines,
			ApprovalRequired: *cfg.Approval.Required, Format: bankfile.Format{}}}
	if r.Bank.Payments, err = location(cfg.Locations.Payments); err != nil {
		return nil, fmt.Errorf("locations.payments: %w", err)
	}
	if r.Bank.Results, err = location(cfg.Locations.Results); err != nil {
		return nil, fmt.Errorf("locations.results: %w", err)
	}
	for _, in := range []struct {
		kind pipeline.FileKind
		url  string
	}{
		{pipeline.KindCertificates, cfg.Locations.Certificates},
		{pipeline.KindRegistrations, cfg.Locations.Registrations},
	} {
		loc, err := location(in.url)
		if err != nil {
			return nil, fmt.Errorf("locations.%s: %w", in.kind, err)
		}
		r.Inboxes = append(r.Inboxes, pipeline.Inbox{Kind: in.kind, Location: loc})
	}
	return r, nil
}
