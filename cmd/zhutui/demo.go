package main

import (
	"context"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"time"

	"zhutui/connectors/sftp"
	"zhutui/fixtures"
	"zhutui/fixtures/bank"
	"zhutui/pipeline"
)

// demoFolders are where the other organisations' files live in the demo:
// the appraisal centre, the bank and the SMS platform are reached over SFTP
// (the built-in server), the registration export is a local folder.
var demoFolders = map[string]string{
	"registrations": "registration-system/export",
	"certificates":  "sftp/appraisal-centre/out",
	"payments":      "sftp/bank/in",
	"results":       "sftp/bank/out",
	"sms":           "sftp/sms-platform/in",
}

// cmdDemo runs the whole cycle on the built-in fixtures in a fresh folder,
// with nothing to set up: it starts an SFTP server on the loopback interface
// with generated keys, then init, run, approve, run (the payment file goes to
// the bank), plays the bank (two payments returned), and runs the next night.
func cmdDemo(ctx context.Context, app *App, args []string) error {
	fset := app.flags("demo")
	dir := fset.String("dir", "", "folder to run the demo in (default: a new temporary folder)")
	if err := app.parse(fset, args); err != nil {
		return err
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "zhutui-demo-")
		if err != nil {
			return err
		}
		*dir = d
	} else {
		// Its locations are absolute URLs; a folder with an earlier demo's
		// database in it would mix two demos.
		abs, err := filepath.Abs(*dir)
		if err != nil {
			return configErrorf("demo --dir %q: %v", *dir, err)
		}
		*dir = abs
		if entries, err := os.ReadDir(abs); err == nil && len(entries) > 0 {
			return configErrorf("demo --dir %s: the folder is not empty; give a new or empty one", abs)
		}
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return err
		}
	}
	start := time.Now()
	say := func(format string, args ...any) { fmt.Fprintf(app.stdout, "\n==> "+format+"\n", args...) }

	// The SFTP server and the keys to reach it.
	clientKey, pemBytes, err := sftp.GenerateKey()
	if err != nil {
		return err
	}
	srv, err := sftp.StartServer("zhutui", clientKey.PublicKey())
	if err != nil {
		return err
	}
	defer srv.Close()
	keyFile, knownHosts := filepath.Join(*dir, "id_ed25519"), filepath.Join(*dir, "known_hosts")
	if err := os.WriteFile(keyFile, pemBytes, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(knownHosts, []byte(srv.KnownHostsLine()), 0o600); err != nil {
		return err
	}
	urls := map[string]string{}
	for k, rel := range demoFolders {
		abs := filepath.Join(*dir, rel)
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return err
		}
		u := url.URL{Scheme: "sftp", User: url.User("zhutui"), Host: srv.Addr, Path: abs}
		if k == "registrations" {
			u = url.URL{Scheme: "file", Path: abs}
		}
		urls[k] = u.String()
	}
	cfgPath := filepath.Join(*dir, "zhutui.toml")
	cfgText := fmt.Sprintf(`# zhutui demo configuration (see zhutui init for every key)
[bank]
payer_account = "0200001009000012345"

[ssh]
key_file = %q
known_hosts = %q

[locations]
registrations = %q
certificates = %q
payments = %q
results = %q
sms = %q
`, keyFile, knownHosts, urls["registrations"], urls["certificates"], urls["payments"], urls["results"], urls["sms"])
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o644); err != nil {
		return err
	}
	demo := *app
	demo.configPath, demo.explicit, demo.closers = cfgPath, true, nil
	defer demo.close()
	say("an SFTP server for the appraisal centre, the bank and the SMS platform listens on %s", srv.Addr)

	say("zhutui init (in %s)", *dir)
	if err := cmdInit(ctx, &demo, nil); err != nil {
		return err
	}
	if err := dropSamples(*dir, "night1"); err != nil {
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
	say("zhutui run --as-of 2014-02-02: the payment file goes to the bank over SFTP")
	if err := cmdRun(ctx, &demo, []string{"--as-of", "2014-02-02"}); err != nil {
		return err
	}
	say("the bank answers: two payments returned (R001-1 card closed, R028-1 name differs)")
	if err := playBank(*dir, "B2014020101", map[string]bank.Failure{"R001-1": bank.AccountClosed, "R028-1": bank.NameMismatch}); err != nil {
		return err
	}
	if err := dropSamples(*dir, "night2"); err != nil {
		return err
	}
	say("night 2: the result file, a new export and feed; zhutui run --as-of 2014-02-03 (statuses settle, SMS go out)")
	if err := cmdRun(ctx, &demo, []string{"--as-of", "2014-02-03"}); err != nil {
		return err
	}
	say("zhutui ledger verify")
	if err := cmdLedger(ctx, &demo, []string{"verify"}); err != nil {
		return err
	}
	cfg, err := demo.config()
	if err != nil {
		return err
	}
	say("done in %.1f s. Everything is in %s:", time.Since(start).Seconds(), *dir)
	for _, p := range []string{filepath.Join(cfg.Reports, "run-3", "summary.txt"), filepath.Join(*dir, demoFolders["payments"]),
		filepath.Join(*dir, demoFolders["sms"])} {
		fmt.Fprintf(app.stdout, "    %s\n", p)
	}
	return nil
}

// dropSamples puts a night's fixture files where the registration system and
// the appraisal centre would.
func dropSamples(dir, night string) error {
	for _, f := range []struct{ name, to string }{
		{"registrations.csv", demoFolders["registrations"]},
		{"certificates.csv", demoFolders["certificates"]},
	} {
		body, err := fs.ReadFile(fixtures.Samples, path.Join("samples", night, f.name))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, f.to, night+"-"+f.name), body, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// playBank answers a delivered payment file with a result file, as the bank would.
func playBank(dir, batchID string, fail map[string]bank.Failure) error {
	pay, err := os.ReadFile(filepath.Join(dir, demoFolders["payments"], pipeline.PaymentFileName(batchID)))
	if err != nil {
		return err
	}
	name, res, err := bank.Answer(pay, fail)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, demoFolders["results"], name), res, 0o644)
}
