package main_test

import (
	"os"
	"strings"
	"testing"

	"zhutui/fixtures"
)

// TestProgrammeFileChanged: a run judges by the programme zhutui init loaded.
// When the configured programme file is edited afterwards, runs are refused
// until zhutui init loads it, rather than going on under the old rules.
func TestProgrammeFileChanged(t *testing.T) {
	w := newWorkdir(t)
	if err := os.WriteFile(w.path("zhutui.toml"), []byte("programme = \"programme.toml\"\n"+testConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.path("programme.toml"), fixtures.Programme2013, 0o644); err != nil {
		t.Fatal(err)
	}
	w.ok("init")
	w.ok("run", "--as-of", "2014-02-01")

	edited := append([]byte("# budget agreed on 2014-02-01\n"), fixtures.Programme2013...)
	if err := os.WriteFile(w.path("programme.toml"), edited, 0o644); err != nil {
		t.Fatal(err)
	}
	_, errs, code := w.zhutui("run", "--as-of", "2014-02-02")
	if code != 2 || !strings.Contains(errs, "is not the programme 2013 that zhutui init loaded: run zhutui init") {
		t.Fatalf("a run after the programme file changed: exit %d, %s", code, errs)
	}
	if out := w.ok("status"); strings.Contains(out, "run 2 ") || !strings.Contains(out, "runs are refused: programme "+w.path("programme.toml")) {
		t.Errorf("status after a refused run (none recorded, the reason shown):\n%s", out)
	}
	if out := w.ok("init"); !strings.Contains(out, "loaded programme 2013") {
		t.Errorf("init did not load the edited programme:\n%s", out)
	}
	w.ok("run", "--as-of", "2014-02-02")
	if out := w.ok("status"); strings.Contains(out, "refused") {
		t.Errorf("status after init loaded the programme:\n%s", out)
	}

	if err := os.WriteFile(w.path("programme.toml"), []byte("not a programme\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := w.zhutui("run", "--as-of", "2014-02-03"); code != 2 || !strings.Contains(errs, "programme.toml") {
		t.Errorf("a run with a broken programme file: exit %d, %s", code, errs)
	}
}
