package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"

	"zhutui/connectors/sqlite"
	"zhutui/pipeline"
)

// parseInterleaved parses flags that may come before or after the positional
// arguments (zhutui batch approve B2014020101 --by li).
func (app *App) parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := app.parse(fs, args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

const batchUsage = "batch list | show ID | approve ID... --by USER | reject ID --by USER --reason TEXT | reissue ID --by USER --reason TEXT"

func cmdBatch(ctx context.Context, app *App, args []string) error {
	fs := app.flags("batch")
	by := fs.String("by", "", "who approves, rejects or reissues")
	reason := fs.String("reason", "", "why (reject, reissue)")
	pos, err := app.parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return configErrorf("usage: zhutui %s", batchUsage)
	}
	// needIDs checks the arguments of a subcommand about batches: one, but
	// for an approval, which takes several; a decision names who takes it
	// (--by) and, but for an approval, why.
	needIDs := func() ([]string, error) {
		usage := map[string]string{"show": "show ID", "approve": "approve ID... --by USER",
			"reject": "reject ID --by USER --reason TEXT", "reissue": "reissue ID --by USER --reason TEXT"}[pos[0]]
		switch {
		case len(pos) < 2, len(pos) > 2 && pos[0] != "approve",
			pos[0] != "show" && *by == "",
			(pos[0] == "reject" || pos[0] == "reissue") && *reason == "":
			return nil, configErrorf("usage: zhutui batch %s", usage)
		}
		return pos[1:], nil
	}
	needID := func() (string, error) {
		ids, err := needIDs()
		if err != nil {
			return "", err
		}
		return ids[0], nil
	}
	_, st, err := app.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	w := app.stdout
	switch pos[0] {
	case "list":
		bs, err := st.Batches(ctx)
		if err != nil {
			return err
		}
		if len(bs) == 0 {
			fmt.Fprintln(w, "no batches yet")
			return nil
		}
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "batch\tstatus\tlines\ttotal\tpaid\treturned\tcreated\tapproved by")
		for _, b := range bs {
			approvedBy := pipeline.OneLine(b.ApprovedBy)
			if approvedBy == "" {
				approvedBy = "-" // not approved (yet)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%d\t%s\t%s\n", b.ID, b.Status, b.Count, pipeline.FormatFen(b.TotalFen),
				b.PaidCount, b.ReturnedCount, b.CreatedAt, approvedBy)
		}
		return tw.Flush()
	case "show":
		id, err := needID()
		if err != nil {
			return err
		}
		b, err := st.Batch(ctx, id)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "batch %s: %s\n  business date %s, payer account %s\n  %s, %s yuan\n  payment file %s, sha256 %s\n",
			b.ID, b.Status, b.BusinessDate, b.PayerAccount, pipeline.Counted(b.Count, "line", "lines"), pipeline.FormatFen(b.TotalFen),
			pipeline.PaymentFileName(b.ID), b.FileSHA256)
		events, err := st.BatchEvents(ctx, id)
		if err != nil {
			return err
		}
		for _, e := range events {
			fmt.Fprintf(w, "  %s  %-10s by %s  %s\n", e.At, e.Action, pipeline.OneLine(e.Actor), pipeline.OneLine(e.Detail))
		}
		alerts, err := st.BatchAlerts(ctx, id)
		if err != nil {
			return err
		}
		if len(alerts) > 0 {
			fmt.Fprintf(w, "  alerts: %d of its payments changed after the batch was made (the report lists them too)\n", len(alerts))
			for _, a := range alerts[:min(len(alerts), pipeline.MaxListed)] {
				fmt.Fprintf(w, "    %s (%s, %s): %s\n", a.RegistrationID, a.PaymentRef, a.PaymentStatus, pipeline.OneLine(a.Describe()))
			}
			if more := len(alerts) - pipeline.MaxListed; more > 0 {
				fmt.Fprintf(w, "    … and %d more, all in the report's alerts.csv\n", more)
			}
		}
		return nil
	case "approve":
		ids, err := needIDs()
		if err != nil {
			return err
		}
		approved, err := st.ApproveBatches(ctx, ids, *by)
		if err != nil {
			return err
		}
		for _, id := range approved {
			fmt.Fprintf(w, "batch %s approved by %s: the next run delivers it\n", id, *by)
			alerts, err := st.BatchAlerts(ctx, id)
			if err != nil {
				return err
			}
			if len(alerts) > 0 {
				fmt.Fprintf(app.stderr, "warning: batch %s: %d of its payments changed after the batch was made (zhutui batch show %s lists them); "+
					"the next run pays them as the batch has them unless it is rejected first (zhutui batch reject %s --by USER --reason TEXT)\n",
					id, len(alerts), id, id)
			}
		}
		return nil
	case "reject":
		id, err := needID()
		if err != nil {
			return err
		}
		if err := st.RejectBatch(ctx, id, *by, *reason); err != nil {
			return err
		}
		fmt.Fprintf(w, "batch %s rejected by %s: its payments are ELIGIBLE again\n", id, *by)
		return nil
	case "reissue":
		id, err := needID()
		if err != nil {
			return err
		}
		n, skipped, err := st.ReissueBatch(ctx, id, *by, *reason)
		if err != nil {
			return err
		}
		if n == 0 && len(skipped) == 0 {
			fmt.Fprintf(w, "batch %s: no RETURNED payment to reissue (the bank returned none, or they were reissued already)\n", id)
		} else {
			fmt.Fprintf(w, "batch %s: %s ELIGIBLE again as the next attempt\n", id,
				pipeline.Counted(int64(n), "returned payment is", "returned payments are"))
		}
		for _, s := range skipped {
			fmt.Fprintf(w, "  not reissued: %s\n", s)
		}
		return nil
	}
	return configErrorf("unknown subcommand %q (list, show, approve, reject, reissue)", pos[0])
}

func cmdLedger(ctx context.Context, app *App, args []string) error {
	fs := app.flags("ledger")
	if err := app.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 || fs.Arg(0) != "verify" {
		return configErrorf("usage: zhutui ledger verify")
	}
	cfg, st, err := app.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	rep, err := verifyWholeLedger(ctx, st)
	if rep == nil {
		return err
	}
	// A database put back from an older copy verifies as well as the one
	// it replaced: what was delivered since is outside it, in the anchor.
	behind := app.anchor(cfg, st).Check(ctx)
	fmt.Fprintf(app.stdout, "ledger: %d entries, head hash %s\n", rep.Entries, rep.HeadHash)
	for _, a := range []pipeline.Account{pipeline.AccountProgramme, pipeline.AccountEligible, pipeline.AccountBatched,
		pipeline.AccountSent, pipeline.AccountPaid, pipeline.AccountReturned} {
		fmt.Fprintf(app.stdout, "  %-10s %16s\n", a, pipeline.FormatFen(rep.Balances[a]))
	}
	if rep.OK() {
		if err != nil {
			return fmt.Errorf("the chain, the balances and the payment states agree, but this verification "+
				"could not be recorded (run it again): %w", err)
		}
		if behind != nil {
			return fmt.Errorf("the chain, the balances and the payment states agree, but %w", behind)
		}
		fmt.Fprintln(app.stdout, "verified: the chain, the balances and the payment states agree")
		return nil
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(app.stderr, "  %s\n", p)
	}
	if err != nil {
		return fmt.Errorf("ledger does not verify, and this could not be recorded, so money may still move: "+
			"run zhutui ledger verify again: %w", err)
	}
	if rep.FirstBad > 0 {
		return fmt.Errorf("ledger does not verify: first bad entry is %d (no money moves until it does)", rep.FirstBad)
	}
	return fmt.Errorf("ledger does not verify: %s", rep.Problems[0])
}

// verifyWholeLedger recomputes the whole chain, the balances and each
// payment's position (zhutui ledger verify, and the daemon's weekly check).
// When an entry is bad, the next verification of new entries starts before
// it, so that the next report says NOT RECONCILED and no money moves until
// the ledger verifies. The walk only reads; recording its result writes, and
// can fail (a night holding the write lock past the busy timeout): then the
// report is returned with the error, for the caller to show both.
func verifyWholeLedger(ctx context.Context, st *sqlite.Store) (*pipeline.LedgerReport, error) {
	if err := st.CheckSchema(ctx); err != nil {
		return nil, err
	}
	rep, err := st.VerifyLedger(ctx)
	if err != nil {
		return nil, err
	}
	if rep.FirstBad > 0 {
		if err := st.ForgetVerifiedFrom(ctx, rep.FirstBad); err != nil {
			return rep, err
		}
	}
	return rep, st.SaveFullVerification(ctx, rep)
}
