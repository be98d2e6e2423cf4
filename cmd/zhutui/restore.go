package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"zhutui/connectors/report"
	"zhutui/connectors/sqlite"
	"zhutui/pipeline"
	"zhutui/pipeline/crashpoint"
)

// cmdRestore puts a copy of the database (zhutui backup's, or the daemon's)
// in the database's place, as the README's "A database put back from a copy"
// says to, without the steps a person can get wrong:
//   - nothing may have the database open (zhutui daemon keeps it open
//     between nights, and a night or a shell has it too): the swap would
//     leave them writing to the file moved aside;
//   - the copy is checked before anything is moved: its ledger verifies
//     whole with this installation's key, and it is not older than what the
//     anchor file says was delivered (a copy that is would pay again);
//   - the database replaced is moved aside with its -wal and -shm files,
//     never deleted, and never left beside the copy: a -wal file left
//     behind would be read as the copy's own and mix the two;
//   - the report folders that are not the copy's runs' are moved aside too
//     (its own next runs take their numbers, and would write over them),
//     and the copy's own, moved aside by an earlier restore, are put back.
//
// The copy itself is not changed: it is copied to DATABASE.restoring first,
// checked there, and renamed into place.
func cmdRestore(ctx context.Context, app *App, args []string) error {
	flags := app.flags("restore")
	if err := app.parse(flags, args); err != nil {
		return err
	}
	if flags.NArg() != 1 {
		return configErrorf("usage: zhutui restore COPY")
	}
	from := flags.Arg(0)
	cfg, err := app.config()
	if err != nil {
		return err
	}
	db := cfg.Database
	if fi, err := os.Stat(from); err != nil {
		return configErrorf("the copy: %v", err)
	} else if !fi.Mode().IsRegular() {
		return configErrorf("the copy %s is not a file", from)
	}
	if same, _ := sameFile(from, db); same {
		return configErrorf("%s is the database itself, not a copy of it", from)
	}
	staged := db + ".restoring"
	if same, _ := sameFile(from, staged); same {
		return configErrorf("%s is the file restore checks a copy in, which it removes first: give it another name", from)
	}
	if err := notOpen(db); err != nil {
		return err
	}
	if _, err := os.Stat(db); errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(db + "-wal"); err == nil {
			return fmt.Errorf("there is no database %s but there is its -wal file, which belongs with the database it was "+
				"written for (a restore cut off while moving one aside leaves its files apart: put them together "+
				"under one name first); nothing was changed", db)
		}
	}

	// The copy, checked where it will be used.
	removeDatabase(staged) // left by a restore that stopped before its swap
	if err := copyPrivate(from, staged); err != nil {
		removeDatabase(staged)
		return fmt.Errorf("copy %s to %s: %w; nothing was changed", from, staged, err)
	}
	c, starts, err := app.checkCopy(ctx, cfg, staged)
	if err != nil {
		removeDatabase(staged)
		return fmt.Errorf("%s is not put in the database's place: %w; nothing was changed", from, err)
	}
	// Again: the copy and its check take a while (a whole restore took
	// 22.7 s at 1M), and a night may have begun meanwhile.
	if err := notOpen(db); err != nil {
		removeDatabase(staged)
		return err
	}

	// The swap. The database replaced keeps its name with a stamp.
	stamp := ".replaced-" + app.now().In(pipeline.Beijing).Format(copyStamp)
	aside := freeName(db + stamp)
	moved := 0
	for _, suffix := range []string{"", "-wal", "-shm"} {
		err := os.Rename(db+suffix, aside+suffix)
		switch {
		case err == nil:
			moved++
		case errors.Is(err, fs.ErrNotExist):
		default:
			return fmt.Errorf("move %s aside to %s: %w (the copy, checked, is at %s; move the database's files "+
				"aside by hand and rename it to %s)", db+suffix, aside+suffix, err, staged, db)
		}
	}
	crashpoint.Here("restore:swap")
	if err := os.Rename(staged, db); err != nil {
		return fmt.Errorf("rename %s to %s: %w (the database replaced is at %s)", staged, db, err, aside)
	}
	if err := syncDir(filepath.Dir(db)); err != nil {
		return fmt.Errorf("the copy is in place, but its folder could not be synced: %w", err)
	}
	away, back, err := reportsOfTheCopy(cfg.Reports, starts, stamp)
	if err != nil {
		return fmt.Errorf("the copy is in place (the database replaced is at %s), but the report folders could not all "+
			"be sorted (moved aside: %v; put back: %v): %w", aside, away, back, err)
	}
	w := app.stdout
	fmt.Fprintf(w, "restored %s from %s: its ledger has %d entries, head hash %s, and verifies, and it lacks no delivery the anchor file records\n",
		db, from, c.Entries, c.Head)
	if moved > 0 {
		fmt.Fprintf(w, "    the database it replaced is kept as %s (with its -wal and -shm files, if it had them); "+
			"it holds every member's ID and card number in full: remove it once it is no longer needed\n", aside)
	}
	if len(away) > 0 {
		fmt.Fprintf(w, "    the reports of runs that are not the copy's are kept as %s\n", strings.Join(away, ", "))
	}
	if len(back) > 0 {
		fmt.Fprintf(w, "    the copy's own reports, moved aside by an earlier restore, are back: %s\n", strings.Join(back, ", "))
	}
	fmt.Fprintln(w, "    what happened after the copy was made and delivered nothing (files taken, decisions) the next run does again")
	return nil
}

// restoreCutOff refuses, with what to do, to open or make a database where
// there is none because a restore was cut off between moving the database
// aside and renaming the checked copy into place: an init there would make
// an empty database beside the two.
func restoreCutOff(db string) error {
	if _, err := os.Stat(db); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if _, err := os.Stat(db + ".restoring"); err != nil {
		return nil
	}
	return configErrorf("there is no database %[1]s, and %[1]s.restoring is there: a restore was cut off, its copy not yet "+
		"in place (the database it replaced, if any, is %[1]s.replaced-…); run zhutui restore again with the copy", db)
}

// notOpen fails, saying what to do, when a process has the database open.
func notOpen(db string) error {
	pids, err := openedBy(db, db+"-wal")
	if err != nil {
		return fmt.Errorf("whether a process has the database open cannot be told (%w); nothing was changed", err)
	}
	if len(pids) > 0 {
		return fmt.Errorf("the database %s is open in %s (zhutui daemon keeps it open; a night, a command or a shell may too): "+
			"stop it first; nothing was changed", db, processes(pids))
	}
	return nil
}

// checkCopy opens the copy at path as zhutui's database (migrating an older
// one), and checks that this installation's ledger key is its key, that its
// whole ledger verifies, and that the anchor file has no delivery it lacks.
// It closes it again, so that its write-ahead log is folded into the file.
func (app *App) checkCopy(ctx context.Context, cfg *Config, path string) (c sqlite.Copy, starts map[int64]string, err error) {
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		return c, nil, err
	}
	defer func() {
		if cerr := st.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	st.Now = app.now
	if err := app.useLedgerKey(ctx, st, cfg, false); err != nil {
		return c, nil, err
	}
	rep, err := verifyWholeLedger(ctx, st)
	if err != nil {
		return c, nil, err
	}
	if !rep.OK() {
		return c, nil, fmt.Errorf("its ledger does not verify (%d problems; the first: %s)", len(rep.Problems), rep.Problems[0])
	}
	if err := app.anchor(cfg, st).Check(ctx); err != nil {
		return c, nil, err
	}
	if c.Entries, c.Head, err = st.LedgerHead(ctx); err != nil {
		return c, nil, err
	}
	starts, err = st.RunStarts(ctx)
	return c, starts, err
}

// reportsOfTheCopy makes the report folders the copy's: a folder run-N that
// is not the copy's run N (the copy has none, or the report's summary names
// another start) is moved aside as run-N plus suffix, and a folder an
// earlier restore moved aside that is the copy's run N, where run-N is free,
// is put back. A report whose start cannot be read stays where it is. It
// returns the folders moved aside and those put back.
func reportsOfTheCopy(reports string, starts map[int64]string, suffix string) (away, back []string, err error) {
	entries, err := os.ReadDir(reports)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	inPlace, movedAside := regexp.MustCompile(`^run-([1-9][0-9]*)$`), regexp.MustCompile(`^run-([1-9][0-9]*)\.replaced-`)
	theCopys := func(id int64, dir string) (yes, known bool) {
		started := report.RunStarted(filepath.Join(reports, dir))
		return starts[id] != "" && started == starts[id], started != ""
	}
	for _, e := range entries {
		m := inPlace.FindStringSubmatch(e.Name())
		if m == nil || !e.IsDir() {
			continue
		}
		id, _ := strconv.ParseInt(m[1], 10, 64)
		if yes, known := theCopys(id, e.Name()); yes || !known && starts[id] != "" {
			continue
		}
		to := freeName(filepath.Join(reports, e.Name()+suffix))
		if err := os.Rename(filepath.Join(reports, e.Name()), to); err != nil {
			return away, back, err
		}
		away = append(away, to)
	}
	for _, e := range entries {
		m := movedAside.FindStringSubmatch(e.Name())
		if m == nil || !e.IsDir() {
			continue
		}
		id, _ := strconv.ParseInt(m[1], 10, 64)
		to := filepath.Join(reports, "run-"+m[1])
		if _, err := os.Lstat(to); !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if yes, _ := theCopys(id, e.Name()); !yes {
			continue
		}
		if err := os.Rename(filepath.Join(reports, e.Name()), to); err != nil {
			return away, back, err
		}
		back = append(back, to)
	}
	return away, back, nil
}

// freeName is base, or base-2, base-3 and so on: the first name free with
// its -wal and -shm (a database's files; a folder's take the same names), so
// that nothing is renamed over.
func freeName(base string) string {
	for n := 1; ; n++ {
		name := base
		if n > 1 {
			name = fmt.Sprintf("%s-%d", base, n)
		}
		free := true
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if _, err := os.Lstat(name + suffix); !errors.Is(err, fs.ErrNotExist) {
				free = false
			}
		}
		if free {
			return name
		}
	}
}

// copyPrivate copies the file from to a new file to, mode 0600, synced.
func copyPrivate(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// removeDatabase removes a database file and its -wal and -shm files.
func removeDatabase(path string) {
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(path + suffix)
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func sameFile(a, b string) (bool, error) {
	fa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	fb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(fa, fb), nil
}

// openedBy lists the other processes that have one of paths open, by their
// open files under /proc (Linux). Processes of other users, whose files
// cannot be read, are not seen: zhutui runs as one user.
func openedBy(paths ...string) ([]int, error) {
	want := map[string]bool{}
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		want[abs] = true
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	if _, err := os.ReadDir("/proc/self/fd"); err != nil {
		return nil, err
	}
	self := os.Getpid()
	var pids []int
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == self {
			continue
		}
		fds, err := os.ReadDir(filepath.Join("/proc", p.Name(), "fd"))
		if err != nil {
			continue // gone, or another user's
		}
		for _, fd := range fds {
			if target, err := os.Readlink(filepath.Join("/proc", p.Name(), "fd", fd.Name())); err == nil && want[target] {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids, nil
}

// processes names pids with their command lines, for an operator to find.
func processes(pids []int) string {
	var names []string
	for _, pid := range pids {
		cmd, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		line := strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " "))
		if line == "" {
			line = "?"
		}
		names = append(names, fmt.Sprintf("process %d (%s)", pid, pipeline.OneLine(line)))
	}
	return strings.Join(names, ", ")
}
