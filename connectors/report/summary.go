package report

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"text/tabwriter"

	"zhutui/pipeline"
)

// RunStarted is when the run a report folder is of started, as its
// summary.txt's second line says, or "" when that cannot be read. zhutui
// restore tells apart, by it, the reports of two runs under one number.
func RunStarted(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "summary.txt"))
	if err != nil {
		return ""
	}
	if m := runLine.FindSubmatch(b); m != nil {
		return string(m[1])
	}
	return ""
}

// runLine finds the start in the line writeSummaryText writes second.
var runLine = regexp.MustCompile(`(?m)^programme .* · run \d+ .* · started (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) Beijing time$`)

// writeSummaryText writes summary.txt, the page a finance officer reads first.
func writeSummaryText(b *bufio.Writer, sum *pipeline.Summary) error {
	r := sum.Run
	fmt.Fprintf(b, "zhutui 对账报告 reconciliation report\n")
	fmt.Fprintf(b, "programme %s · run %d (%s) · business date %s · started %s Beijing time\n",
		sum.Programme, r.ID, r.Trigger, r.BusinessDate, r.StartedAt)
	fmt.Fprintf(b, "registrations: %d · state after run %d\n", sum.Registrations, sum.LastRun)
	if sum.Earlier() {
		fmt.Fprintf(b, "%s\n", sum.EarlierNote())
	}
	fmt.Fprintf(b, "\nverdict 结论: %s\n", sum.Verdict())
	if held := sum.Held(); held != "" {
		fmt.Fprintf(b, "资金冻结 MONEY HELD by this run (no batch made or delivered): %s\n", held)
	}
	fmt.Fprintf(b, "ledger 账本: %s, head hash %s\n", pipeline.Counted(sum.Money.LedgerEntries, "entry", "entries"), sum.Money.HeadHash)
	writeMoneyText(b, sum)

	fmt.Fprintf(b, "\n文件 Files taken by this run\n")
	if len(sum.Files) == 0 {
		fmt.Fprintf(b, "  (none)\n")
	}
	tw := tabwriter.NewWriter(b, 2, 4, 2, ' ', 0)
	for _, f := range sum.Files {
		if f.Outcome == pipeline.OutcomeQuarantined {
			fmt.Fprintf(tw, "  %s\t%s\tQUARANTINED\t%s\n", f.Kind, pipeline.OneLine(Cell(f.Name)), pipeline.OneLine(f.Reason))
			continue
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d applied\t%d unchanged\t%d rejected\t%s\tsha256 %.12s…\n",
			f.Kind, pipeline.OneLine(Cell(f.Name)), f.Applied, f.Unchanged, f.Rejected, f.Encoding, f.SHA256)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	for _, sec := range summarySections(sum) {
		fmt.Fprintf(b, "\n%s\n", sec.title)
		fmt.Fprintf(b, "  %8s %8s %16s  %s\n", "count", "payable", "amount (yuan)", "key")
		var count, payable, fen int64
		for _, t := range sec.tallies {
			label := pipeline.OneLine(Cell(t.Key))
			if sec.name == "status" {
				label += " " + pipeline.Status(t.Key).Text()
			}
			fmt.Fprintf(b, "  %8d %8d %16s  %s\n", t.Count, t.Payable, pipeline.FormatFen(t.AmountFen), label)
			count, payable, fen = count+t.Count, payable+t.Payable, fen+t.AmountFen
		}
		fmt.Fprintf(b, "  %8d %8d %16s  %s\n", count, payable, pipeline.FormatFen(fen), "total 合计")
	}
	return nil
}

// budgetFigure is one of the budget's amounts as summary.csv and the
// workbook list them.
type budgetFigure struct {
	key string
	fen int64
}

// budgetFigures are the budget's amounts (summary.csv and the workbook list
// the payable payments not batched after them, with their count).
func budgetFigures(bs *pipeline.BudgetState) []budgetFigure {
	return []budgetFigure{{"budget", bs.BudgetFen}, {"in batches", bs.CommittedFen}, {"left", bs.BudgetFen - bs.CommittedFen}}
}

// writeMoneyText writes the money check: where every yuan decided payable is,
// against the ledger, and each batch's totals; then the alerts.
func writeMoneyText(b *bufio.Writer, sum *pipeline.Summary) {
	m := sum.Money
	fmt.Fprintf(b, "\n资金核对 Money check\n")
	fmt.Fprintf(b, "  %-10s %8s %16s %16s\n", "status", "count", "payments", "ledger")
	for _, s := range pipeline.MoneyStatuses {
		t := m.Payments[s]
		fmt.Fprintf(b, "  %-10s %8d %16s %16s\n", s, t.Count, pipeline.FormatFen(t.AmountFen), pipeline.FormatFen(m.Ledger[pipeline.StatusAccount[s]]))
	}
	fmt.Fprintf(b, "  %-10s %8s %16s %16s\n", "decided", "", pipeline.FormatFen(m.DecidedFen()), pipeline.FormatFen(-m.Ledger[pipeline.AccountProgramme]))
	if sum.Budget != nil {
		bs := sum.Budget
		fmt.Fprintf(b, "  budget %s: %s in batches, %s; %d payable payments (%s) not batched\n",
			pipeline.FormatFen(bs.BudgetFen), pipeline.FormatFen(bs.CommittedFen), bs.Left(), bs.WaitingCount, pipeline.FormatFen(bs.WaitingFen))
	}
	if len(m.Batches) > 0 {
		fmt.Fprintf(b, "\n批次 Batches\n")
		fmt.Fprintf(b, "  %-12s %-18s %7s %14s %14s %14s %14s %14s %14s\n", "batch", "status", "lines", "file", "ledger",
			"settled", "returned", "awaiting", "bank confirmed")
		for _, x := range m.Batches {
			bank := "-"
			if x.BankKnown {
				bank = pipeline.FormatFen(x.BankFen)
			}
			fmt.Fprintf(b, "  %-12s %-18s %7d %14s %14s %14s %14s %14s %14s\n", x.ID, x.Status, x.Count, pipeline.FormatFen(x.FileFen),
				pipeline.FormatFen(x.LedgerFen), pipeline.FormatFen(x.SettledFen), pipeline.FormatFen(x.ReturnedFen),
				pipeline.FormatFen(x.AwaitingFen), bank)
		}
	}
	waiting := 0
	for _, x := range sum.Batches {
		if x.Status == pipeline.BatchAwaitingApproval {
			if waiting == 0 {
				fmt.Fprintf(b, "\n待审批 Batches awaiting approval\n")
			}
			waiting++
			fmt.Fprintf(b, "  %s: %s, %s yuan, created %s by %s\n", x.ID, pipeline.Counted(x.Count, "line", "lines"), pipeline.FormatFen(x.TotalFen), x.CreatedAt, x.CreatedBy)
		}
	}
	if sum.AlertCount > 0 {
		fmt.Fprintf(b, "\n提醒 Alerts: %s after a payment entered a batch (no money moved)\n", pipeline.Counted(sum.AlertCount, "change", "changes"))
		for _, a := range sum.Alerts {
			fmt.Fprintf(b, "  %s (%s, %s): %s\n", Cell(a.RegistrationID), a.PaymentRef, a.PaymentStatus, pipeline.OneLine(a.Describe()))
		}
		moreText(b, sum.AlertCount, len(sum.Alerts), "alerts.csv")
	}
	if sum.NoMobileCount > 0 {
		fmt.Fprintf(b, "\n无有效手机号 No SMS: %s without a valid mobile (tell these members another way)\n", pipeline.Counted(sum.NoMobileCount, "payment", "payments"))
		for _, n := range sum.NoMobile {
			fmt.Fprintf(b, "  %s %s %s yuan\n", n.PaymentRef, n.Kind, pipeline.FormatFen(n.AmountFen))
		}
		moreText(b, sum.NoMobileCount, len(sum.NoMobile), "no-sms.csv")
	}
	if p := m.Problems(); len(p) > 0 {
		fmt.Fprintf(b, "\n不符 What does not add up\n")
		for _, x := range p {
			fmt.Fprintf(b, "  - %s\n", pipeline.OneLine(x))
		}
	}
}

// moreText says how many of a list the summary left out, and where they are.
func moreText(b *bufio.Writer, total int64, shown int, file string) {
	if more := total - int64(shown); more > 0 {
		fmt.Fprintf(b, "  … 另有 %d 条，见 %s (and %d more, all in %s)\n", more, file, more, file)
	}
}
