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
	"slices"
	"time"

	"zhutui/connectors/sqlite"
	"zhutui/pipeline"
)

// The daemon's copies of the database are named after it and the time they
// were made (Beijing time): zhutui-20141205-023512.db for zhutui.db. Only
// files so named are ever removed from the backup folder, so that two
// databases may share it and nothing else kept there is touched.
const copyStamp = "20060102-150405"

// copyPattern matches the names of database's copies; its group is the time.
func copyPattern(database string) *regexp.Regexp {
	return regexp.MustCompile(`^` + regexp.QuoteMeta(databaseName(database)) + `-(\d{8}-\d{6})\.db$`)
}

// copies lists the database's copies in folder, the oldest first (their
// names sort by the time in them). A folder not made yet has none.
func copies(folder, database string) ([]string, error) {
	entries, err := os.ReadDir(folder)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	pat := copyPattern(database)
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && pat.MatchString(e.Name()) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

// nightlyCopy is what the daemon did after a night: the copy it made and
// the older copies it removed to keep cfg.Backup.Keep.
type nightlyCopy struct {
	Path    string
	Copy    sqlite.Copy
	Removed []string
}

// backUpAfterTheNight copies the database into cfg.Backup.Folder (made, mode
// 0700, when missing), as zhutui backup does, and then removes the oldest of
// its copies there beyond cfg.Backup.Keep. A copy that fails removes
// nothing: the ones kept are then the last that were made.
func backUpAfterTheNight(ctx context.Context, cfg *Config, st *sqlite.Store, now time.Time) (nightlyCopy, error) {
	var nc nightlyCopy
	folder := cfg.Backup.Folder
	if err := os.MkdirAll(folder, 0o700); err != nil {
		return nc, fmt.Errorf("backup folder: %w", err)
	}
	nc.Path = filepath.Join(folder, databaseName(cfg.Database)+"-"+now.In(pipeline.Beijing).Format(copyStamp)+".db")
	c, err := st.Backup(ctx, nc.Path)
	if err != nil {
		return nc, err
	}
	nc.Copy = c
	names, err := copies(folder, cfg.Database)
	if err != nil {
		return nc, fmt.Errorf("backed up to %s, but its folder could not be listed to remove the oldest copies: %w", nc.Path, err)
	}
	for len(names) > cfg.Backup.Keep {
		old := filepath.Join(folder, names[0])
		if err := os.Remove(old); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nc, fmt.Errorf("backed up to %s, but an old copy could not be removed: %w", nc.Path, err)
		}
		nc.Removed = append(nc.Removed, old)
		names = names[1:]
	}
	return nc, nil
}

// printBackups tells zhutui status where the database's newest copy is. It
// returns what needs attention, for --check: a copy older than the last
// nightly run of runs (the latest first), which the daemon copies after,
// means that copy failed.
func printBackups(w io.Writer, cfg *Config, runs []pipeline.Run) (attention string) {
	folder := cfg.Backup.Folder
	if folder == "" {
		fmt.Fprintln(w, "zhutui daemon makes no copy of the database ([backup] folder is not set); zhutui backup FILE makes one")
		return ""
	}
	var night *pipeline.Run
	for i := range runs {
		if runs[i].Trigger == pipeline.TriggerSchedule && runs[i].FinishedAt != "" {
			night = &runs[i]
			break
		}
	}
	names, err := copies(folder, cfg.Database)
	switch {
	case err != nil:
		fmt.Fprintf(w, "the copies of the database cannot be listed: %v\n", err)
		return fmt.Sprintf("the copies of the database cannot be listed: %v", err)
	case len(names) == 0:
		fmt.Fprintf(w, "no copy of the database in %s yet (zhutui daemon makes one after each night)\n", folder)
		if night != nil {
			return fmt.Sprintf("no copy of the database in %s, though nightly run %d finished (the daemon's log says why)", folder, night.ID)
		}
		return ""
	}
	newest := names[len(names)-1]
	// Digits that are no time (a name made by hand) count as the oldest.
	made, _ := time.ParseInLocation(copyStamp, copyPattern(cfg.Database).FindStringSubmatch(newest)[1], pipeline.Beijing)
	fmt.Fprintf(w, "the newest copy of the database: %s (%s kept there; zhutui daemon keeps %d)\n",
		filepath.Join(folder, newest), pipeline.Counted(int64(len(names)), "copy", "copies"), cfg.Backup.Keep)
	if night == nil {
		return ""
	}
	finished, err := time.ParseInLocation(pipeline.TimeLayout, night.FinishedAt, pipeline.Beijing)
	if err != nil || !made.Before(finished) {
		return ""
	}
	fmt.Fprintf(w, "    it is older than nightly run %d, which finished %s: the copy after that night failed (the daemon's log says why)\n",
		night.ID, night.FinishedAt)
	return fmt.Sprintf("no copy of the database since nightly run %d: the newest, %s, is older (the daemon's log says why)", night.ID, newest)
}
