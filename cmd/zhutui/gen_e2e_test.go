package main_test

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"zhutui/fixtures"
	"zhutui/fixtures/synth"
	"zhutui/pipeline"
)

// TestGen: zhutui gen writes the files synth makes for the options given
// (and for its defaults: 1000 registrations from R1, seed 1, a tenth of them
// exceptions), and refuses options out of their range with exit 2 and its
// usage, writing nothing.
func TestGen(t *testing.T) {
	w := newWorkdir(t)
	p, err := pipeline.ParseProgramme(fixtures.Programme2013)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		o    synth.Options
	}{
		{[]string{"--registrations", "20", "--first", "101", "--seed", "9", "--exceptions", "1"},
			synth.Options{Registrations: 20, First: 101, Seed: 9, Exceptions: 1}},
		{nil, synth.Options{Registrations: 1000, First: 1, Seed: 1, Exceptions: 0.1}},
	} {
		dir := "gen" + strings.Join(c.args, "")
		out := w.path(dir)
		said := w.ok(append(append([]string{"gen"}, c.args...), "--out", out)...)
		if want := fmt.Sprintf("wrote %d registrations and their certificate feed to %s\n", c.o.Registrations, out); said != want {
			t.Errorf("gen %v said %q, want %q", c.args, said, want)
		}
		c.o.Programme = p
		var regs, certs bytes.Buffer
		if err := synth.Write(c.o, &regs, &certs); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(w.read(dir, "registrations.csv"), regs.Bytes()) || !bytes.Equal(w.read(dir, "certificates.csv"), certs.Bytes()) {
			t.Errorf("gen %v wrote other files than synth with %+v", c.args, c.o)
		}
	}
	for _, c := range []struct {
		args []string
		says string // what is wrong, named
	}{
		{[]string{"--registrations", "-1", "--out", w.path("bad")}, "--registrations -1: want 0 or more"},
		{[]string{"--first", "0", "--out", w.path("bad")}, "--first 0: want 1 or more"},
		{[]string{"--exceptions", "-0.1", "--out", w.path("bad")}, "--exceptions -0.1: want a share from 0 to 1"},
		{[]string{"--exceptions", "1.1", "--out", w.path("bad")}, "--exceptions 1.1: want a share from 0 to 1"},
		{[]string{"--exceptions", "NaN", "--out", w.path("bad")}, "--exceptions NaN: want a share from 0 to 1"},
		{[]string{"--registrations", "5"}, "usage: zhutui gen --registrations N [--first N] [--seed S] [--exceptions 0.1] --out DIR (--out is missing)"},
	} {
		if _, errs, code := w.zhutui(append([]string{"gen"}, c.args...)...); code != 2 || !strings.Contains(errs, "zhutui gen: "+c.says) {
			t.Errorf("gen %v: exit %d, %q", c.args, code, errs)
		}
	}
	if _, err := os.Stat(w.path("bad")); !os.IsNotExist(err) {
		t.Errorf("a refused gen made its folder: %v", err)
	}
}
