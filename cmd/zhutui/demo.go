package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"zhutui/connectors/localdir"
	"zhutui/fixtures"
	"zhutui/fixtures/bank"
	"zhutui/pipeline"
)

// demoConfig is the demo's configuration: the defaults and a payer account.
var demoConfig = strings.Replace(defaultConfig, "# payer_account = \"\"", `payer_account = "0200001009000012345"`, 1)

// cmdDemo runs the whole cycle on the built-in fixtures in a fresh folder,
// with nothing to set up: init, run, approve, run (the payment file), the
// bank's answer with two returns, run, then the next night's files.
func cmdDemo(ctx context.Context, app *App, args []string) error {
	fset := app.flags("demo")
	dir := fset.String("dir", "", "folder to run the demo in (default: a new temporary folder)")
	if err := parse(fset, args); err != nil {
		return err
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "zhutui-demo-")
		if err != nil {
			return err
		}
		*dir = d
	}
	cfgPath := filepath.Join(*dir, "zhutui.toml")
	if err := os.WriteFile(cfgPath, []byte(demoConfig), 0o644); err != nil {
		return err
	}
	demo := *app
	demo.configPath, demo.explicit = cfgPath, true
	say := func(format string, args ...any) { fmt.Fprintf(app.stdout, "\n==> "+format+"\n", args...) }

	say("zhutui init (in %s)", *dir)
	if err := cmdInit(ctx, &demo, nil); err != nil {
		return err
	}
	cfg, err := demo.config()
	if err != nil {
		return err
	}
	if err := dropSamples("night1", cfg); err != nil {
		return err
	}
	say("night 1: the registration export and the certificate feed arrive; zhutui run --as-of 2014-02-01")
	if err := cmdRun(ctx, &demo, []string{"--as-of", "2014-02-01"}); err != nil {
		return err
	}
	say("finance staff approve the batch: zhutui batch approve B2014020101 --by finance-li")
	if err := cmdBatch(ctx, &demo, []string{"approve", "B2014020101", "--by", "finance-li"}); err != nil {
		return err
	}
	say("zhutui run --as-of 2014-02-02: the payment file goes to the bank")
	if err := cmdRun(ctx, &demo, []string{"--as-of", "2014-02-02"}); err != nil {
		return err
	}
	say("the bank answers: two payments returned (R001-1 card closed, R028-1 name differs)")
	if err := playBank(cfg, "B2014020101", map[string]bank.Failure{"R001-1": bank.AccountClosed, "R028-1": bank.NameMismatch}); err != nil {
		return err
	}
	if err := dropSamples("night2", cfg); err != nil {
		return err
	}
	say("night 2: the result file and new registration and feed files; zhutui run --as-of 2014-02-03")
	if err := cmdRun(ctx, &demo, []string{"--as-of", "2014-02-03"}); err != nil {
		return err
	}
	say("zhutui ledger verify")
	if err := cmdLedger(ctx, &demo, []string{"verify"}); err != nil {
		return err
	}
	say("done: everything is in %s; the last report is %s", *dir, filepath.Join(cfg.Reports, "run-3"))
	return nil
}

// dropSamples copies a night's fixture files into the configured inbound folders.
func dropSamples(night string, cfg *Config) error {
	for _, f := range []struct{ name, to string }{
		{"registrations.csv", cfg.Locations.Registrations},
		{"certificates.csv", cfg.Locations.Certificates},
	} {
		body, err := fs.ReadFile(fixtures.Samples, path.Join("samples", night, f.name))
		if err != nil {
			return err
		}
		d, err := localdir.Parse(f.to)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(d.Path, night+"-"+f.name), body, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// playBank answers a delivered payment file with a result file, as the bank would.
func playBank(cfg *Config, batchID string, fail map[string]bank.Failure) error {
	out, err := localdir.Parse(cfg.Locations.Payments)
	if err != nil {
		return err
	}
	in, err := localdir.Parse(cfg.Locations.Results)
	if err != nil {
		return err
	}
	pay, err := os.ReadFile(filepath.Join(out.Path, pipeline.PaymentFileName(batchID)))
	if err != nil {
		return err
	}
	name, res, err := bank.Answer(pay, fail)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(in.Path, name), res, 0o644)
}
