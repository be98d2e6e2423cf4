package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"zhutui/fixtures"
	"zhutui/fixtures/synth"
	"zhutui/pipeline"
)

func cmdGen(ctx context.Context, app *App, args []string) error {
	fs := app.flags("gen")
	n := fs.Int("registrations", 1000, "how many registrations")
	first := fs.Int("first", 1, "number of the first registration (ids R<n>)")
	seed := fs.Uint64("seed", 1, "random seed: the same seed gives the same files")
	exc := fs.Float64("exceptions", 0.1, "share of registrations that fail a rule")
	out := fs.String("out", "", "folder to write registrations.csv and certificates.csv into")
	if err := app.parse(fs, args); err != nil {
		return err
	}
	const usage = "usage: zhutui gen --registrations N [--first N] [--seed S] [--exceptions 0.1] --out DIR"
	switch {
	case *out == "":
		return configErrorf("%s (--out is missing)", usage)
	case *n < 0:
		return configErrorf("--registrations %d: want 0 or more", *n)
	case *first < 1:
		return configErrorf("--first %d: want 1 or more", *first)
	case !(*exc >= 0 && *exc <= 1): // NaN too
		return configErrorf("--exceptions %v: want a share from 0 to 1", *exc)
	}
	prog, err := pipeline.ParseProgramme(fixtures.Programme2013)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	regs, err := os.Create(filepath.Join(*out, "registrations.csv"))
	if err != nil {
		return err
	}
	defer regs.Close()
	certs, err := os.Create(filepath.Join(*out, "certificates.csv"))
	if err != nil {
		return err
	}
	defer certs.Close()
	if err := synth.Write(synth.Options{Registrations: *n, First: *first, Seed: *seed, Exceptions: *exc, Programme: prog}, regs, certs); err != nil {
		return err
	}
	if err := regs.Close(); err != nil {
		return err
	}
	if err := certs.Close(); err != nil {
		return err
	}
	fmt.Fprintf(app.stdout, "wrote %d registrations and their certificate feed to %s\n", *n, *out)
	return nil
}
