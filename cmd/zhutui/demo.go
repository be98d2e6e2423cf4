package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"zhutui/connectors/localdir"
	"zhutui/fixtures"
)

// cmdDemo runs the whole cycle on the built-in fixtures in a fresh folder,
// with nothing to set up.
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
	if err := os.WriteFile(cfgPath, []byte(defaultConfig), 0o644); err != nil {
		return err
	}
	demo := *app
	demo.configPath, demo.explicit = cfgPath, true
	say := func(format string, args ...any) { fmt.Fprintf(app.stdout, "==> "+format+"\n", args...) }

	say("zhutui init (in %s)", *dir)
	if err := cmdInit(ctx, &demo, nil); err != nil {
		return err
	}
	cfg, err := demo.config()
	if err != nil {
		return err
	}
	for i, night := range []string{"night1", "night2"} {
		if err := dropSamples(night, cfg); err != nil {
			return err
		}
		asOf := fmt.Sprintf("2014-02-%02d", i+1)
		say("%s: the registration export and the certificate feed arrive; zhutui run --as-of %s", night, asOf)
		if err := cmdRun(ctx, &demo, []string{"--as-of", asOf}); err != nil {
			return err
		}
	}
	say("done: everything is in %s (the reports under reports/)", *dir)
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
		dst := filepath.Join(d.Path, night+"-"+f.name)
		if err := os.WriteFile(dst, body, 0o644); err != nil {
			return err
		}
	}
	return nil
}
