package sqlite

import (
	"context"
	"database/sql"
	"strings"

	"github.com/jmoiron/sqlx"
)

// bulkRows is how many rows one multi-row INSERT carries: a statement per row
// costs a cgo call, a bind and a step each, which dominates large nights.
const bulkRows = 200

// bulk inserts rows many at a time with multi-row INSERT statements. Rows
// are written when a statement is full and on flush; the caller must flush
// before the transaction ends, and close to release the statement.
type bulk struct {
	ctx  context.Context
	tx   *sqlx.Tx
	head string // INSERT INTO t (a, b) VALUES
	tail string // ON CONFLICT …, or ""
	cols int
	row  string // (?, ?)
	full *sql.Stmt
	args []any
	n    int
	// short, when set, is called with a statement's rows (cols values each)
	// when it inserted fewer rows than it carried: an ON CONFLICT tail
	// dropped some, which short may then look into.
	short func(args []any) error
}

// newBulk prepares a bulk insert: head is "INSERT INTO t (a, b, c)", tail
// what follows the VALUES list.
func newBulk(ctx context.Context, tx *sqlx.Tx, head, tail string, cols int) *bulk {
	return &bulk{ctx: context.WithoutCancel(ctx), tx: tx, head: head + " VALUES ", tail: " " + tail, cols: cols,
		row: "(" + placeholders(cols) + ")", args: make([]any, 0, cols*bulkRows)}
}

func (b *bulk) statement(rows int) string {
	return b.head + strings.TrimSuffix(strings.Repeat(b.row+", ", rows), ", ") + b.tail
}

// add queues one row.
func (b *bulk) add(vals ...any) error {
	b.args = append(b.args, vals...)
	b.n++
	if b.n < bulkRows {
		return nil
	}
	if b.full == nil {
		var err error
		if b.full, err = b.tx.PrepareContext(b.ctx, b.statement(bulkRows)); err != nil {
			return err
		}
	}
	res, err := b.full.ExecContext(b.ctx, b.args...)
	if err == nil {
		err = b.inserted(res)
	}
	b.args, b.n = b.args[:0], 0
	return err
}

// inserted hands the statement just run to short when it inserted fewer
// rows than it carried.
func (b *bulk) inserted(res sql.Result) error {
	if b.short == nil {
		return nil
	}
	n, err := res.RowsAffected()
	if err != nil || n == int64(b.n) {
		return err
	}
	return b.short(b.args)
}

// flush writes the queued rows.
func (b *bulk) flush() error {
	if b.n == 0 {
		return nil
	}
	res, err := b.tx.ExecContext(b.ctx, b.statement(b.n), b.args...)
	if err == nil {
		err = b.inserted(res)
	}
	b.args, b.n = b.args[:0], 0
	return err
}

// close releases the prepared statement; queued rows not flushed are dropped.
func (b *bulk) close() {
	if b.full != nil {
		b.full.Close()
	}
}
