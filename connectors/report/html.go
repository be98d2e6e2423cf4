package report

import (
	"bufio"
	"embed"
	"html/template"
	"unicode/utf8"

	"zhutui/pipeline"
)

//go:embed templates/report.html.tmpl
var templates embed.FS

var page = template.Must(template.New("report.html.tmpl").Funcs(template.FuncMap{
	"yuan":    pipeline.FormatFen,
	"counted": pipeline.Counted,
	"barY":    func(i, off int) int { return i*20 + off },
	"add":     func(a, b int) int { return a + b },
	"more":    func(total int64, shown int) int64 { return total - int64(shown) },
	"short": func(s string) string {
		if utf8.RuneCountInString(s) <= 12 {
			return s
		}
		return string([]rune(s)[:11]) + "…"
	},
}).ParseFS(templates, "templates/report.html.tmpl"))

// maxExceptionRows caps each reason's table in report.html; every exception
// is in exceptions.csv and report.xlsx.
const maxExceptionRows = 200

// exceptionGroup is one reason's exceptions as report.html shows them.
type exceptionGroup struct {
	Code  pipeline.Status
	Count int
	Rows  []pipeline.ExceptionLine // masked
	More  int
}

// exceptionGroups gathers exceptions by reason code, in the order of §3,
// keeping at most maxExceptionRows of each.
type exceptionGroups map[pipeline.Status]*exceptionGroup

func (g exceptionGroups) add(l pipeline.ExceptionLine) {
	x := g[l.Code]
	if x == nil {
		x = &exceptionGroup{Code: l.Code}
		g[l.Code] = x
	}
	x.Count++
	if len(x.Rows) < maxExceptionRows {
		x.Rows = append(x.Rows, l)
	} else {
		x.More++
	}
}

func (g exceptionGroups) sorted() []*exceptionGroup {
	var out []*exceptionGroup
	for _, code := range pipeline.ReasonOrder {
		if x, ok := g[code]; ok {
			out = append(out, x)
		}
	}
	return out
}

type moneyRow struct {
	Status           pipeline.Status
	Label            string
	Count            int64
	Payments, Ledger string
}

type chartRow struct {
	Key, Label     string
	Count, Payable int64
	Amount         string
	Width          int
}

type chart struct {
	Name, Title, KeyTitle string
	Rows                  []chartRow
	Total                 chartRow
	Height                int
}

type htmlData struct {
	Sum        *pipeline.Summary
	Verdict    string
	Reconciled bool
	Problems   []string
	Money      []moneyRow
	MoneyTotal moneyRow
	Batches    []pipeline.BatchMoney
	BatchTotal pipeline.BatchMoney
	Awaiting   []pipeline.BatchState
	Charts     []chart
	Waiting    []pipeline.Waiting
	Exceptions []*exceptionGroup
}

// writeHTML writes report.html: one self-contained page (inline CSS and SVG,
// no network) with the verdict and ledger head hash first.
func writeHTML(b *bufio.Writer, sum *pipeline.Summary, groups exceptionGroups) error {
	m := sum.Money
	d := htmlData{Sum: sum, Verdict: sum.Verdict(), Problems: m.Problems(), Batches: m.Batches, Waiting: sum.Waiting,
		Exceptions: groups.sorted()}
	d.Reconciled = len(d.Problems) == 0
	if !d.Reconciled { // the page lists every problem under it: the headline counts them
		d.Verdict = "NOT RECONCILED 未对平: " + pipeline.Counted(int64(len(d.Problems)), "problem", "problems")
	}
	for _, s := range pipeline.MoneyStatuses {
		t := m.Payments[s]
		d.Money = append(d.Money, moneyRow{Status: s, Label: string(s) + " " + s.Text(), Count: t.Count,
			Payments: pipeline.FormatFen(t.AmountFen), Ledger: pipeline.FormatFen(m.Ledger[pipeline.StatusAccount[s]])})
		d.MoneyTotal.Count += t.Count
	}
	d.MoneyTotal.Payments = pipeline.FormatFen(m.DecidedFen())
	d.MoneyTotal.Ledger = pipeline.FormatFen(-m.Ledger[pipeline.AccountProgramme])
	for _, x := range m.Batches {
		t := &d.BatchTotal
		t.Count += x.Count
		t.FileFen += x.FileFen
		t.LedgerFen += x.LedgerFen
		t.SettledFen += x.SettledFen
		t.ReturnedFen += x.ReturnedFen
		t.AwaitingFen += x.AwaitingFen
	}
	for _, x := range sum.Batches {
		if x.Status == pipeline.BatchAwaitingApproval {
			d.Awaiting = append(d.Awaiting, x)
		}
	}
	for _, sec := range summarySections(sum) {
		c := chart{Name: sec.name, Title: sec.title, KeyTitle: sec.keyTitle, Height: 20*len(sec.tallies) + 4}
		var top int64 = 1
		for _, t := range sec.tallies {
			top = max(top, t.Count)
		}
		var fen int64
		for _, t := range sec.tallies {
			label := ""
			if sec.name == "status" {
				label = pipeline.Status(t.Key).Text()
			}
			c.Rows = append(c.Rows, chartRow{Key: t.Key, Label: label, Count: t.Count, Payable: t.Payable,
				Amount: pipeline.FormatFen(t.AmountFen), Width: int(t.Count * 260 / top)})
			c.Total.Count += t.Count
			c.Total.Payable += t.Payable
			fen += t.AmountFen
		}
		c.Total.Amount = pipeline.FormatFen(fen)
		d.Charts = append(d.Charts, c)
	}
	return page.Execute(b, d)
}
