package sqlite

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"zhutui/pipeline"
)

// ErrNoProgramme means the database has no programme: run `zhutui init`.
var ErrNoProgramme = errors.New("no programme loaded: run `zhutui init` first")

// ErrOtherProgramme refuses to make a programme of another code the active
// one in a database that holds registrations: they were made under the
// active programme and would be judged again under the other's dates,
// catalog and budget (a pending 2013 registration refused by 2014's start
// date), and its one person limit and budget would count the other
// programme's payments. A later programme takes a database of its own.
var ErrOtherProgramme = errors.New("another programme's registrations are in this database")

// LoadProgramme stores a programme and makes it the active one. Loading a
// programme whose file changed since it was last loaded makes the next
// reconcile judge every registration again. It reports whether anything
// changed.
func (s *Store) LoadProgramme(ctx context.Context, p *pipeline.Programme) (changed bool, err error) {
	sum := sha256.Sum256(p.Source())
	hash := hex.EncodeToString(sum[:])
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		var old string
		if err := tx.GetContext(ctx, &old, `SELECT coalesce((SELECT sha256 FROM programmes WHERE code = ?), '')`, p.Code); err != nil {
			return err
		}
		active, err := setting(ctx, tx, "programme")
		if err != nil {
			return err
		}
		if old == hash && active == p.Code {
			return nil
		}
		if active != "" && active != p.Code {
			var held bool
			if err := tx.GetContext(ctx, &held, `SELECT EXISTS (SELECT 1 FROM registrations)`); err != nil {
				return err
			}
			if held {
				return fmt.Errorf("%w: programme %s is the one they were registered under, and stays so here; "+
					"programme %s takes a database of its own (a configuration with its own database and "+
					"locations), and a correction of programme %s keeps its code", ErrOtherProgramme, active, p.Code, active)
			}
		}
		changed = true
		if _, err := tx.ExecContext(ctx, `INSERT INTO programmes (code, source, sha256, loaded_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (code) DO UPDATE SET source = excluded.source, sha256 = excluded.sha256, loaded_at = excluded.loaded_at`,
			p.Code, string(p.Source()), hash, s.now()); err != nil {
			return err
		}
		if err := setSetting(ctx, tx, "programme", p.Code); err != nil {
			return err
		}
		// Judge everything again under the new rules.
		return resetWatermarks(ctx, tx)
	})
	if err != nil {
		return false, fmt.Errorf("load programme %s: %w", p.Code, err)
	}
	return changed, nil
}

// Programme returns the active programme.
func (s *Store) Programme(ctx context.Context) (*pipeline.Programme, error) {
	var src string
	err := s.db.GetContext(ctx, &src, `SELECT p.source FROM programmes p JOIN settings s ON s.name = 'programme' AND s.value = p.code`)
	if err != nil {
		if isNoRows(err) || isNoTable(err) {
			return nil, ErrNoProgramme
		}
		return nil, fmt.Errorf("read programme: %w", err)
	}
	return pipeline.ParseProgramme([]byte(src))
}
