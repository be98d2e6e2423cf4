// Package localdir is the file:///abs/dir location: a folder on this machine.
package localdir

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"time"

	"zhutui/pipeline"
	"zhutui/pipeline/crashpoint"
)

// Dir is a local folder used as a location.
type Dir struct {
	Path string // absolute
}

var _ pipeline.Location = (*Dir)(nil)

// Parse reads a file:///abs/dir URL.
func Parse(raw string) (*Dir, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "file" {
		return nil, fmt.Errorf("location %q: want file:///absolute/dir", raw)
	}
	if u.Host != "" && u.Host != "localhost" {
		return nil, fmt.Errorf("location %q: a file location has no host", raw)
	}
	if !filepath.IsAbs(u.Path) {
		return nil, fmt.Errorf("location %q: the path must be absolute", raw)
	}
	return &Dir{Path: filepath.Clean(u.Path)}, nil
}

// New returns the location for an absolute folder path.
func New(path string) *Dir { return &Dir{Path: filepath.Clean(path)} }

// String returns the file:// URL.
func (d *Dir) String() string { return (&url.URL{Scheme: "file", Path: d.Path}).String() }

// List returns the names of the regular files in the folder, sorted. A folder
// that does not exist yet holds no files.
func (d *Dir) List(ctx context.Context) ([]string, error) {
	entries, err := os.ReadDir(d.Path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", d, err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// Open opens a file of the folder for reading.
func (d *Dir) Open(ctx context.Context, name string) (io.ReadSeekCloser, error) {
	if name != filepath.Base(name) {
		return nil, fmt.Errorf("open %q in %s: not a plain file name", name, d)
	}
	return os.Open(filepath.Join(d.Path, name))
}

var _ pipeline.Stamper = (*Dir)(nil)

var _ pipeline.FolderChecker = (*Dir)(nil)

// CheckFolder returns nil when the folder is there, and the stat's error
// (fs.ErrNotExist for a folder that is not) otherwise.
func (d *Dir) CheckFolder(ctx context.Context) error {
	fi, err := os.Stat(d.Path)
	if err != nil {
		return fmt.Errorf("stat %s: %w", d, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("stat %s: not a folder", d)
	}
	return nil
}

// FreshFor is how long after its last change a file gets no stamp (see
// stamp): longer than the coarsest file-time granularity of the filesystems
// zhutui reads (ext4 and tmpfs keep nanoseconds, some keep whole seconds).
var FreshFor = 3 * time.Second

// Stamp returns what changes whenever a file's bytes may have: its device,
// inode, size, mtime and ctime (which the kernel sets on every write and
// which no tool can set back). "" where the system gives no ctime, and for
// a file changed within FreshFor.
func (d *Dir) Stamp(ctx context.Context, name string) (string, error) {
	if name != filepath.Base(name) {
		return "", fmt.Errorf("stat %q in %s: not a plain file name", name, d)
	}
	fi, err := os.Stat(filepath.Join(d.Path, name))
	if err != nil {
		return "", err
	}
	return stamp(fi), nil
}

// Put writes a file so that no reader ever sees part of it: Stage, then
// Commit, and the staged copy removed if the commit fails. The same bytes
// already under the final name are reported as already there; other bytes
// fail with pipeline.ErrClash and nothing is overwritten.
func (d *Dir) Put(ctx context.Context, name string, data []byte) (bool, error) {
	if already, err := d.Stage(ctx, name, data); err != nil || already {
		return already, err
	}
	already, err := d.Commit(ctx, name, data)
	if err != nil {
		os.Remove(d.staged(name))
	}
	return already, err
}

// Stage writes data to name's staged copy, .<name>.part, which a reader
// taking *.csv or *.txt files does not see: first to a file of its own, synced
// and read back, then renamed over any older staged copy. When the final name
// already holds the same bytes it writes nothing and reports already.
func (d *Dir) Stage(ctx context.Context, name string, data []byte) (bool, error) {
	if err := pipeline.CheckPutName(name); err != nil {
		return false, fmt.Errorf("put %q in %s: %w", name, d, err)
	}
	if err := os.MkdirAll(d.Path, 0o755); err != nil {
		return false, fmt.Errorf("put %s in %s: %w", name, d, err)
	}
	if there, err := d.inPlace(name, data); there || err != nil {
		return there, err
	}
	tmp, err := os.CreateTemp(d.Path, "."+name+".*.tmp")
	if err != nil {
		return false, fmt.Errorf("put %s in %s: %w", name, d, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fmt.Errorf("put %s in %s: %w", name, d, err)
	}
	if same, err := sameFile(tmp.Name(), data); err != nil || !same {
		return false, fmt.Errorf("put %s in %s: the written copy does not read back the same (%v)", name, d, err)
	}
	if err := os.Rename(tmp.Name(), d.staged(name)); err != nil {
		return false, fmt.Errorf("put %s in %s: %w", name, d, err)
	}
	d.syncFolder()
	return false, nil
}

// Commit links name's staged copy into place, never overwriting, and
// removes the staged copy. The same bytes already under the final name are
// reported as already there (and a staged copy left beside them removed);
// other bytes fail with pipeline.ErrClash. With neither the final name nor a
// staged copy there it fails with pipeline.ErrNotStaged; a staged copy
// holding other bytes is an error.
func (d *Dir) Commit(ctx context.Context, name string, data []byte) (bool, error) {
	if err := pipeline.CheckPutName(name); err != nil {
		return false, fmt.Errorf("put %q in %s: %w", name, d, err)
	}
	if there, err := d.inPlace(name, data); there || err != nil {
		return there, err
	}
	final, staged := filepath.Join(d.Path, name), d.staged(name)
	switch same, err := sameFile(staged, data); {
	case os.IsNotExist(err):
		return false, fmt.Errorf("put %s in %s: %w", name, d, pipeline.ErrNotStaged)
	case err != nil:
		return false, fmt.Errorf("put %s in %s: %w", name, d, err)
	case !same:
		return false, fmt.Errorf("put %s in %s: its staged copy %s holds other bytes", name, d, filepath.Base(staged))
	}
	crashpoint.Here("upload:before-rename")
	if err := os.Link(staged, final); err != nil {
		if !os.IsExist(err) {
			return false, fmt.Errorf("put %s in %s: %w", name, d, err)
		}
		// Someone else put it meanwhile: compare, once. (A name that exists
		// and cannot be opened, a link to nothing say, is an error: trying
		// again would meet it again.)
		same, err := sameFile(final, data)
		switch {
		case err != nil:
			return false, fmt.Errorf("put %s in %s: the name is taken, but what it names cannot be read: %w", name, d, err)
		case !same:
			return false, fmt.Errorf("put %s in %s: %w", name, d, pipeline.ErrClash)
		}
		os.Remove(staged)
		return true, nil
	}
	os.Remove(staged)
	d.syncFolder()
	return false, nil
}

// inPlace reports whether name's final name holds data (and removes a
// staged copy left beside it); other bytes there are pipeline.ErrClash.
func (d *Dir) inPlace(name string, data []byte) (bool, error) {
	same, err := sameFile(filepath.Join(d.Path, name), data)
	switch {
	case os.IsNotExist(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("put %s in %s: %w", name, d, err)
	case !same:
		return false, fmt.Errorf("put %s in %s: %w", name, d, pipeline.ErrClash)
	}
	os.Remove(d.staged(name))
	return true, nil
}

func (d *Dir) staged(name string) string { return filepath.Join(d.Path, "."+name+".part") }

// syncFolder makes a rename or link in the folder durable, as far as the
// folder can be synced.
func (d *Dir) syncFolder() {
	if dir, err := os.Open(d.Path); err == nil {
		dir.Sync()
		dir.Close()
	}
}

// sameFile reports whether the file at path holds exactly data.
func sameFile(path string, data []byte) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return false, err
	}
	want := sha256.Sum256(data)
	return n == int64(len(data)) && bytes.Equal(h.Sum(nil), want[:]), nil
}
