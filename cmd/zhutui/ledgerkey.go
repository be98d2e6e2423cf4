package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"zhutui/connectors/sqlite"
)

// useLedgerKey gives the store the configured ledger key (see ledgerKey). A
// key the store refuses is a configuration error naming where it came from.
func (app *App) useLedgerKey(ctx context.Context, st *sqlite.Store, cfg *Config, create bool) error {
	// A database whose ledger was chained with a key takes that key alone: a
	// new one, made because the file went missing, would verify nothing.
	chained, err := st.LedgerKeyChecked(ctx)
	if err != nil {
		return err
	}
	key, err := app.ledgerKey(cfg, create && !chained)
	if os.IsNotExist(err) && chained {
		return configErrorf("no ledger key at %s, and this database's ledger was chained with one, which alone "+
			"verifies it (a new key would not): put that key back where it was kept, or give it as $ZHUTUI_LEDGER_KEY", cfg.Ledger.KeyFile)
	}
	if os.IsNotExist(err) {
		return configErrorf("no ledger key: set $ZHUTUI_LEDGER_KEY or create %s (zhutui init does)", cfg.Ledger.KeyFile)
	}
	if err != nil {
		return err
	}
	err = st.SetLedgerKey(ctx, key)
	var ke *sqlite.LedgerKeyError
	if errors.As(err, &ke) {
		from := cfg.Ledger.KeyFile
		if os.Getenv("ZHUTUI_LEDGER_KEY") != "" {
			from = "$ZHUTUI_LEDGER_KEY"
		}
		return configErrorf("the ledger key from %s %s", from, ke.Reason)
	}
	return err
}

// ledgerKey returns the ledger's HMAC key: $ZHUTUI_LEDGER_KEY, else the
// contents of the key file. With create, a missing key file is made with a
// new random key, readable by its owner only; without, a missing one is an
// error that os.IsNotExist knows.
func (app *App) ledgerKey(cfg *Config, create bool) ([]byte, error) {
	if k := os.Getenv("ZHUTUI_LEDGER_KEY"); k != "" {
		return []byte(k), nil
	}
	b, err := os.ReadFile(cfg.Ledger.KeyFile)
	if os.IsNotExist(err) && create {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		if err := os.WriteFile(cfg.Ledger.KeyFile, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("create ledger key: %w", err)
		}
		fmt.Fprintf(app.stdout, "created the ledger key %s (mode 0600): keep it safe and apart from the database's backups\n", cfg.Ledger.KeyFile)
		return app.ledgerKey(cfg, false)
	}
	if os.IsNotExist(err) {
		return nil, err // the caller says what to do
	}
	if err != nil {
		return nil, fmt.Errorf("read ledger key: %w", err)
	}
	if fi, err := os.Stat(cfg.Ledger.KeyFile); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, configErrorf("ledger key %s is readable by others (mode %v): chmod 600 it", cfg.Ledger.KeyFile, fi.Mode().Perm())
	}
	return []byte(strings.TrimSpace(string(b))), nil
}
