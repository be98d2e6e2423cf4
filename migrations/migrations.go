// Package migrations holds the database schema as numbered SQL files, applied
// in order, each in its own transaction, and recorded (see connectors/sqlite).
package migrations

import "embed"

// FS holds the *.sql migrations.
//
//go:embed *.sql
var FS embed.FS
