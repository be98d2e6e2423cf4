// Command zhutui-bench measures a million-row night (make bench): it
// generates synthetic input, times the sqlite3 shell's floors on the same
// files, then a first night of zhutui (init, run), a second night adding a
// small increment (and the same second night again from the same state with
// the kernel's page cache dropped, where the bench runs as root), a results
// night (the bank answers every batch) and a night with nothing new, and
// prints wall time, CPU time and peak RSS of each with the ratios the
// performance goals are stated in.
package main

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"zhutui/fixtures"
	"zhutui/fixtures/bank"
	"zhutui/fixtures/synth"
	"zhutui/pipeline"
)

type figure struct {
	name    string
	wall    time.Duration
	cpu     time.Duration
	peakKiB int64
}

func main() {
	bin := flag.String("bin", "bin/zhutui", "the zhutui binary")
	n := flag.Int("registrations", 1_000_000, "registrations (and certificates) on the first night")
	second := flag.Int("second", 10_000, "registrations (and certificates) added on the second night")
	dir := flag.String("dir", ".bench", "working folder (generated data is kept and reused)")
	flag.Parse()
	if err := run(*bin, *n, *second, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "zhutui-bench:", err)
		os.Exit(1)
	}
}

func run(bin string, n, second int, dir string) error {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	dir, _ = filepath.Abs(dir)
	night1 := filepath.Join(dir, fmt.Sprintf("data-%d", n))
	night2 := filepath.Join(dir, fmt.Sprintf("data-%d-plus-%d", n, second))
	if err := generate(bin, night1, n, 1, 1); err != nil {
		return err
	}
	if err := generate(bin, night2, second, n+1, 2); err != nil {
		return err
	}
	var figs []figure

	// The floor: the sqlite3 shell importing both files and deciding every
	// registration with the same field checks (floor.go).
	prog, err := pipeline.ParseProgramme(fixtures.Programme2013)
	if err != nil {
		return err
	}
	catalog := filepath.Join(dir, "catalog.csv")
	if err := writeCatalog(catalog, prog); err != nil {
		return err
	}
	floorDB := filepath.Join(dir, "floor.db")
	os.Remove(floorDB)
	f, floorOut, err := measure("sqlite3 floor (import + rules 1-19)", dir, nil, floorScript(night1, catalog, prog), "sqlite3", floorDB)
	if err != nil {
		return fmt.Errorf("sqlite3 floor (is Debian's sqlite3 installed?): %w", err)
	}
	figs = append(figs, f)
	os.Remove(floorDB)
	partial, _, err := measure("sqlite3 partial floor (sessions 3-9)", dir, nil, partialFloorScript(night1), "sqlite3", floorDB)
	if err != nil {
		return err
	}
	figs = append(figs, partial)
	os.Remove(floorDB)

	// The records floor: the shell writing the rows a first night keeps, in
	// zhutui's schema (see records.sql).
	records := filepath.Join(dir, "records")
	if err := fresh(records); err != nil {
		return err
	}
	if _, _, err := measure("init", records, nil, "", bin, "init"); err != nil {
		return err
	}
	recordsFig, out, err := measure("sqlite3 records floor (our schema)", records, nil,
		strings.ReplaceAll(recordsScript, "DATA", night1), "sqlite3", "-bail", "zhutui.db")
	if err != nil {
		return err
	}
	if entries, _ := strconv.Atoi(strings.TrimSpace(out)); entries == 0 {
		return fmt.Errorf("records floor wrote no ledger entries: %q", out)
	}
	figs = append(figs, recordsFig)

	// The same rows with no secondary index and no trigger: what writing the
	// rows alone costs, whatever indexes a schema would keep.
	if err := fresh(records); err != nil {
		return err
	}
	if _, _, err := measure("init", records, nil, "", bin, "init"); err != nil {
		return err
	}
	bare, err := bareRecordsScript(strings.ReplaceAll(recordsScript, "DATA", night1))
	if err != nil {
		return err
	}
	bareFig, out, err := measure("sqlite3 records floor, no index", records, nil, bare, "sqlite3", "-bail", "zhutui.db")
	if err != nil {
		return err
	}
	if entries, _ := strconv.Atoi(strings.TrimSpace(out)); entries == 0 {
		return fmt.Errorf("records floor with no index wrote no ledger entries: %q", out)
	}
	left, err := exec.Command("sqlite3", "-readonly", filepath.Join(records, "zhutui.db"),
		"SELECT count(*) FROM sqlite_master WHERE type IN ('index', 'trigger') AND sql IS NOT NULL").Output()
	if err != nil {
		return fmt.Errorf("records floor with no index: %w", err)
	}
	if strings.TrimSpace(string(left)) != "0" {
		return fmt.Errorf("records floor with no index kept %s indexes and triggers", strings.TrimSpace(string(left)))
	}
	figs = append(figs, bareFig)

	// zhutui: ingest alone, for the memory bound of streaming ingestion.
	ingestDir := filepath.Join(dir, "ingest")
	if err := fresh(ingestDir); err != nil {
		return err
	}
	if _, _, err := measure("init", ingestDir, nil, "", bin, "init"); err != nil {
		return err
	}
	ingestFig, _, err := measure("ingest registrations only", ingestDir, nil, "", bin, "ingest", "registrations", filepath.Join(night1, "registrations.csv"))
	if err != nil {
		return err
	}
	figs = append(figs, ingestFig)

	// The first night, then the second.
	work := filepath.Join(dir, "work")
	if err := fresh(work); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(work, "zhutui.toml"), []byte(benchConfig), 0o644); err != nil {
		return err
	}
	profile := []string{}
	if p := os.Getenv("BENCH_PROFILE"); p != "" {
		profile = append(profile, "ZHUTUI_CPUPROFILE="+p)
	}
	initFig, _, err := measure("init", work, nil, "", bin, "init")
	if err != nil {
		return err
	}
	if err := drop(night1, work, "night1"); err != nil {
		return err
	}
	runFig, _, err := measure("run", work, profile, "", bin, "run", "--as-of", "2015-01-10")
	if err != nil {
		return err
	}
	first := figure{name: "first night (init + run)", wall: initFig.wall + runFig.wall, cpu: initFig.cpu + runFig.cpu,
		peakKiB: max(initFig.peakKiB, runFig.peakKiB)}
	figs = append(figs, first)
	// The floor must decide as zhutui does, or it is not the same work.
	decided, err := statusCounts(work)
	if err != nil {
		return err
	}
	if got := csvText(floorOut); got != decided {
		return fmt.Errorf("the floor and zhutui decide differently:\nfloor:\n%s\nzhutui:\n%s", got, decided)
	}
	// The second night twice from the same state, where the bench may drop
	// the kernel's page cache (as root): first cold, as after a day of other
	// work, then, with the state put back, warm. The snapshot leaves the
	// inbox where it is: copied files get new inodes, so their stamps change
	// and the night reads the first night's 350 MB again to find them taken,
	// which no real night does. The warm night runs after the state is put
	// back (removed, then copied), not right after the snapshot was taken:
	// on the test machine a night that follows a copy of the 1.7 GB folder
	// into fresh memory took 0.5-0.8 s more (system time), which measured the
	// copy, not zhutui.
	coldWhy := canDropCaches()
	var coldFig figure
	if coldWhy == "" {
		snap := filepath.Join(dir, "work-before-night2")
		inbox, err := snapshot(work, snap)
		if err != nil {
			return err
		}
		defer os.RemoveAll(snap)
		if err := drop(night2, work, "night2"); err != nil {
			return err
		}
		if coldWhy = dropCaches(); coldWhy == "" {
			coldFig, _, err = measure(fmt.Sprintf("second night, cold (+%d)", second), work, nil, "", bin, "run", "--as-of", "2015-01-11")
			if err != nil {
				return err
			}
		}
		if err := restore(snap, work, inbox); err != nil {
			return err
		}
	}
	if err := drop(night2, work, "night2"); err != nil {
		return err
	}
	secondFig, _, err := measure(fmt.Sprintf("second night (+%d)", second), work, nil, "", bin, "run", "--as-of", "2015-01-11")
	if err != nil {
		return err
	}
	figs = append(figs, secondFig)
	if coldFig.name != "" {
		figs = append(figs, coldFig)
	}

	// The results night: the bank answers every payment file of both
	// nights (one line in fifty returned); zhutui settles them, files the SMS
	// notices and reports.
	answered, err := answerAll(work)
	if err != nil {
		return err
	}
	resultsFig, _, err := measure(fmt.Sprintf("results night (%d files)", answered), work, nil, "", bin, "run", "--as-of", "2015-01-12")
	if err != nil {
		return err
	}
	// (A failing verdict reads "NOT RECONCILED: …".)
	if !strings.Contains(readString(filepath.Join(work, "reports", "run-3", "summary.txt")), "verdict 结论: RECONCILED\n") {
		return errors.New("the results night's report is not RECONCILED")
	}
	figs = append(figs, resultsFig)

	// A night with nothing new: what every night costs however much was
	// taken before (files known by their stamps, the report).
	quietFig, _, err := measure("quiet night (nothing new)", work, nil, "", bin, "run", "--as-of", "2015-01-13")
	if err != nil {
		return err
	}
	figs = append(figs, quietFig)

	fmt.Printf("\nzhutui bench: %d registrations and certificates, then %d more (%s)\n", n, second, time.Now().Format("2006-01-02"))
	fmt.Printf("%-34s %10s %10s %12s\n", "step", "wall", "cpu", "peak RSS")
	for _, f := range figs {
		fmt.Printf("%-34s %9.2fs %9.2fs %9.1f MiB\n", f.name, f.wall.Seconds(), f.cpu.Seconds(), float64(f.peakKiB)/1024)
	}
	ratio := func(name string, v float64, note string) { fmt.Printf("%-28s = %6.3f  %s\n", name, v, note) }
	fmt.Println()
	ratio("first night / floor", first.wall.Seconds()/figs[0].wall.Seconds(), "(goal ≤ 1.0)")
	ratio("first night / partial floor", first.wall.Seconds()/partial.wall.Seconds(), "(the ratio sessions 3-9 reported)")
	ratio("second night / first night", secondFig.wall.Seconds()/first.wall.Seconds(), "(goal ≤ 0.05)")
	if coldWhy == "" {
		ratio("cold second / first night", coldFig.wall.Seconds()/first.wall.Seconds(), "(the page cache dropped before it)")
	} else {
		fmt.Printf("%-28s : not measured (%s)\n", "cold second / first night", coldWhy)
	}
	ratio("records floor / floor", recordsFig.wall.Seconds()/figs[0].wall.Seconds(), "(the rows a night keeps, written by the shell)")
	ratio("first night / records floor", first.wall.Seconds()/recordsFig.wall.Seconds(), "")
	ratio("no-index records / floor", bareFig.wall.Seconds()/figs[0].wall.Seconds(), "(the same rows, only the tables' own keys)")
	ratio("results night / first night", resultsFig.wall.Seconds()/first.wall.Seconds(), "(settle and notify every payment)")
	ratio("quiet night / first night", quietFig.wall.Seconds()/first.wall.Seconds(), "(nothing new: the cost of a night itself)")
	fmt.Printf("%-28s = %6.1f MiB (goal ≤ 512)\n", "first night peak RSS", float64(first.peakKiB)/1024)
	fmt.Printf("%-28s = %6.1f MiB (goal ≤ 300)\n", "ingest peak RSS", float64(ingestFig.peakKiB)/1024)
	fmt.Println("\nstages, from the runs' own records (whole seconds):")
	for run, name := range []string{"first night", "second night", "results night", "quiet night"} {
		line, err := stages(work, run+1)
		if err != nil {
			return err
		}
		fmt.Printf("  %-14s %s\n", name, line)
	}
	return nil
}

// statusCounts reads the first night's decisions by status, as the floor
// prints them ("STATUS,count" lines in status order).
func statusCounts(work string) (string, error) {
	out, err := exec.Command("sqlite3", "-readonly", "-csv", filepath.Join(work, "zhutui.db"),
		`SELECT status, count(*) FROM decisions GROUP BY status ORDER BY status`).Output()
	if err != nil {
		return "", fmt.Errorf("decisions by status: %w", err)
	}
	return csvText(string(out)), nil
}

// csvText is the sqlite3 shell's CSV output without its CRs and the blank
// lines around it, so that two outputs compare line for line.
func csvText(out string) string {
	return strings.TrimSpace(strings.ReplaceAll(out, "\r", ""))
}

// writeCatalog writes the programme's catalog as the floor imports it.
func writeCatalog(path string, p *pipeline.Programme) error {
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write([]string{"seq", "occupation", "level"})
	for _, e := range p.Catalog {
		w.Write([]string{strconv.Itoa(e.Seq), e.Occupation, strconv.Itoa(e.Level)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// stages reads how long each stage of a run took from the stages table.
func stages(work string, runID int) (string, error) {
	out, err := exec.Command("sqlite3", "-readonly", filepath.Join(work, "zhutui.db"), fmt.Sprintf(
		`SELECT stage || ' ' || CAST(round((julianday(finished_at) - julianday(started_at)) * 86400) AS INTEGER) || ' s'
		FROM stages WHERE run_id = %d ORDER BY started_at, rowid`, runID)).Output()
	if err != nil {
		return "", fmt.Errorf("stages of run %d: %w", runID, err)
	}
	return strings.ReplaceAll(strings.TrimSpace(string(out)), "\n", " · "), nil
}

// benchConfig delivers without waiting for approval, so that a night runs
// through to the payment files.
const benchConfig = `[approval]
required = false
[bank]
payer_account = "0200001009000012345"
`

// snapshot copies the work folder, all but its inbox, to snap (the
// database, its WAL, the outbox and the reports) and returns the inbox's
// files as they are.
func snapshot(work, snap string) (map[string]bool, error) {
	if err := fresh(snap); err != nil {
		return nil, err
	}
	if err := copyAllBut(work, snap, "inbox"); err != nil {
		return nil, err
	}
	return inboxFiles(work)
}

// restore puts the work folder back as snapshot found it: all but the inbox
// from snap, and the inbox without the files added since.
func restore(snap, work string, inbox map[string]bool) error {
	entries, err := os.ReadDir(work)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() != "inbox" {
			if err := os.RemoveAll(filepath.Join(work, e.Name())); err != nil {
				return err
			}
		}
	}
	now, err := inboxFiles(work)
	if err != nil {
		return err
	}
	for f := range now {
		if !inbox[f] {
			if err := os.Remove(filepath.Join(work, f)); err != nil {
				return err
			}
		}
	}
	return copyAllBut(snap, work, "inbox")
}

// copyAllBut copies every entry of the folder from but skip into the folder
// to (cp -a: with their times) and writes the copies out to disk now, not
// while a night is timed.
func copyAllBut(from, to, skip string) error {
	entries, err := os.ReadDir(from)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() == skip {
			continue
		}
		if out, err := exec.Command("cp", "-a", filepath.Join(from, e.Name()), to).CombinedOutput(); err != nil {
			return fmt.Errorf("copy %s to %s: %w\n%s", e.Name(), to, err, out)
		}
	}
	return exec.Command("sync").Run()
}

// inboxFiles lists the files under work/inbox, by their path in work.
func inboxFiles(work string) (map[string]bool, error) {
	files := map[string]bool{}
	err := filepath.WalkDir(filepath.Join(work, "inbox"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(work, path)
		files[rel] = true
		return err
	})
	return files, err
}

// canDropCaches says why the bench cannot drop the kernel's page cache
// (only root may), or "" when it can.
func canDropCaches() string {
	f, err := os.OpenFile(dropCachesFile, os.O_WRONLY, 0)
	if err != nil {
		return "cannot drop the page cache: " + err.Error()
	}
	f.Close()
	return ""
}

const dropCachesFile = "/proc/sys/vm/drop_caches"

// dropCaches writes what is dirty and drops the kernel's page cache, or
// says why it cannot.
func dropCaches() string {
	if err := exec.Command("sync").Run(); err != nil {
		return "sync: " + err.Error()
	}
	if err := os.WriteFile(dropCachesFile, []byte("3\n"), 0o200); err != nil {
		return "cannot drop the page cache: " + err.Error()
	}
	return ""
}

func fresh(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.MkdirAll(dir, 0o755)
}

// generate writes n registrations from number first, and their feed, into
// dir with zhutui gen, unless dir holds them already from this generator: its
// version is written beside them once they are whole, so that data cut off
// half-way, or made by an older generator, is made again.
func generate(bin, dir string, n, first int, seed int) error {
	stamp, version := filepath.Join(dir, "synth-version"), strconv.Itoa(synth.Version)
	if b, err := os.ReadFile(stamp); err == nil && strings.TrimSpace(string(b)) == version {
		return nil
	}
	if err := os.Remove(stamp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	fmt.Fprintf(os.Stderr, "generating %d registrations into %s (generator version %s)\n", n, dir, version)
	cmd := exec.Command(bin, "gen", "--registrations", strconv.Itoa(n), "--first", strconv.Itoa(first),
		"--seed", strconv.Itoa(seed), "--out", dir)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return err
	}
	return os.WriteFile(stamp, []byte(version+"\n"), 0o644)
}

// drop copies a night's files into the work folder's inbound folders.
func drop(data, work, night string) error {
	for _, f := range []struct{ name, to string }{
		{"registrations.csv", "inbox/registrations"},
		{"certificates.csv", "inbox/certificates"},
	} {
		if err := os.MkdirAll(filepath.Join(work, f.to), 0o755); err != nil {
			return err
		}
		src, err := os.Open(filepath.Join(data, f.name))
		if err != nil {
			return err
		}
		dst, err := os.Create(filepath.Join(work, f.to, night+"-"+f.name))
		if err != nil {
			src.Close()
			return err
		}
		_, err = io.Copy(dst, src)
		src.Close()
		if cerr := dst.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// answerAll has the pretend bank answer every payment file in the work
// folder's outbox, returning one line in fifty, into its results inbox.
func answerAll(work string) (int, error) {
	files, err := filepath.Glob(filepath.Join(work, "outbox", "payments", "ZTPAY_*.txt"))
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Join(work, "inbox", "results"), 0o755); err != nil {
		return 0, err
	}
	for _, f := range files {
		pay, err := os.ReadFile(f)
		if err != nil {
			return 0, err
		}
		fail := map[string]bank.Failure{}
		for i, line := range strings.Split(string(pay), "\r\n") {
			if fields := strings.Split(line, "|"); i > 0 && i%50 == 0 && len(fields) > 2 {
				fail[fields[2]] = bank.AccountClosed // D|seq|payment_ref|…
			}
		}
		name, res, err := bank.Answer(pay, fail)
		if err != nil {
			return 0, fmt.Errorf("answer %s: %w", f, err)
		}
		if err := os.WriteFile(filepath.Join(work, "inbox", "results", name), res, 0o644); err != nil {
			return 0, err
		}
	}
	return len(files), nil
}

func readString(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// recordsScript is the records floor's sqlite3 script; DATA stands for the
// data folder.
//
//go:embed records.sql
var recordsScript string

// dropAll is the sqlite3 shell's prelude that drops every secondary index
// and trigger of the database (the keys a table declares stay): it writes
// the DROP statements to a file and reads it back.
const dropAll = `.headers off
.mode list
.once drop-all.sql
SELECT 'DROP ' || upper(type) || ' ' || name || ';' FROM sqlite_master WHERE type IN ('index', 'trigger') AND sql IS NOT NULL;
.read drop-all.sql
`

// bareRecordsScript is the records floor's script with every secondary
// index and trigger dropped before its transaction begins.
func bareRecordsScript(script string) (string, error) {
	if strings.Count(script, "\nBEGIN;\n") != 1 {
		return "", errors.New("records.sql: want one BEGIN; line to put the drops before")
	}
	return strings.Replace(script, "\nBEGIN;\n", "\n"+dropAll+"BEGIN;\n", 1), nil
}

// measure runs a command, with stdin (when not "") as its standard input,
// and returns its wall time, CPU time and peak RSS.
func measure(name, dir string, env []string, stdin, command string, args ...string) (figure, string, error) {
	cmd := exec.Command(command, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	fmt.Fprintf(os.Stderr, "%s: %s %s\n", name, filepath.Base(command), strings.Join(args, " "))
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return figure{}, out.String(), fmt.Errorf("%s: %w\n%s", name, err, out.String())
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return figure{}, "", errors.New("no resource usage on this system")
	}
	return figure{name: name, wall: wall, cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(),
		peakKiB: ru.Maxrss}, out.String(), nil
}

// partialFloorScript is the floor sessions 3 to 9 measured: it imports the
// first night's files (in data) into bare tables and joins them on the
// certificate number with the field checks of rules 4-13, 15 (levels 1 and
// 2 only) and 16. It is kept so that later figures compare with theirs.
func partialFloorScript(data string) string {
	return fmt.Sprintf(`.mode csv
.import %[1]s/registrations.csv regs
.import %[1]s/certificates.csv certs
CREATE TABLE decided AS
SELECT r.registration_id,
  CASE WHEN r.verification = 'rejected' THEN 'STATION_REJECTED'
       WHEN r.verification = 'pending' THEN 'PENDING_VERIFICATION'
       WHEN c.certificate_number IS NULL THEN 'PENDING_CERTIFICATE'
       WHEN c.status = 'revoked' THEN 'CERT_REVOKED'
       WHEN upper(trim(c.id_number)) != upper(trim(r.id_number)) THEN 'ID_MISMATCH'
       WHEN trim(c.name) != trim(r.name) THEN 'NAME_MISMATCH'
       WHEN replace(c.occupation, ' ', '') != replace(r.occupation, ' ', '') THEN 'OCCUPATION_MISMATCH'
       WHEN c.level != r.level THEN 'LEVEL_MISMATCH'
       WHEN c.issue_date != r.issue_date THEN 'ISSUE_DATE_MISMATCH'
       WHEN c.authority_code NOT LIKE '11%%' THEN 'AUTHORITY_NOT_ELIGIBLE'
       WHEN c.level NOT IN ('1', '2') THEN 'LEVEL_NOT_COVERED'
       WHEN c.issue_date < '2013-10-01' THEN 'ISSUED_BEFORE_START'
       ELSE 'ELIGIBLE' END AS status
FROM regs r LEFT JOIN certs c ON c.certificate_number = r.certificate_number;
SELECT status, count(*) FROM decided GROUP BY status;
`, data)
}
