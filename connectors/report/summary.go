package report

import (
	"bufio"
	"fmt"
	"text/tabwriter"

	"zhutui/pipeline"
)

// writeSummaryText writes summary.txt, the page a finance officer reads first.
func writeSummaryText(b *bufio.Writer, sum *pipeline.Summary) error {
	r := sum.Run
	fmt.Fprintf(b, "zhutui 对账报告 reconciliation report\n")
	fmt.Fprintf(b, "programme %s · run %d (%s) · business date %s · started %s\n",
		sum.Programme, r.ID, r.Trigger, r.BusinessDate, r.StartedAt)
	fmt.Fprintf(b, "registrations: %d\n", sum.Registrations)

	fmt.Fprintf(b, "\n文件 Files taken by this run\n")
	if len(sum.Files) == 0 {
		fmt.Fprintf(b, "  (none)\n")
	}
	tw := tabwriter.NewWriter(b, 2, 4, 2, ' ', 0)
	for _, f := range sum.Files {
		if f.Outcome == pipeline.OutcomeQuarantined {
			fmt.Fprintf(tw, "  %s\t%s\tQUARANTINED\t%s\n", f.Kind, Cell(f.Name), f.Reason)
			continue
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d rows applied\t%d rejected\t%s\tsha256 %.12s…\n",
			f.Kind, Cell(f.Name), f.Applied, f.Rejected, f.Encoding, f.SHA256)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	for _, sec := range summarySections(sum) {
		fmt.Fprintf(b, "\n%s\n", sec.title)
		fmt.Fprintf(b, "  %8s %8s %16s  %s\n", "count", "payable", "amount (yuan)", "key")
		var count, payable, fen int64
		for _, t := range sec.tallies {
			label := Cell(t.Key)
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
