// Package localdir is the file:///abs/dir location: a folder on this machine.
package localdir

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"

	"zhutui/pipeline"
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
