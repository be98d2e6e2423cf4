package bankfile_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"zhutui/connectors/bankfile"
	"zhutui/fixtures/bank"
	"zhutui/pipeline"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func sampleBatch() *pipeline.Batch {
	return &pipeline.Batch{
		ID: "B2014020101", BusinessDate: pipeline.MustDate("2014-02-01"), PayerAccount: "0200001009000012345",
		Memo: "职业发展助推计划资助", Count: 3, TotalFen: 500000,
		Lines: []pipeline.BatchLine{
			{Seq: 1, PaymentRef: "R001-1", CardNumber: "6210670000000000016", Name: "王芳", AmountFen: 200000},
			{Seq: 2, PaymentRef: "R002-1", CardNumber: "6210670000000000024", Name: "李强", AmountFen: 100000},
			{Seq: 3, PaymentRef: "R025-2", CardNumber: "6210670000000000255", Name: "阿依古丽·买买提", AmountFen: 200000},
		},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		os.WriteFile(path, got, 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestRenderPayment(t *testing.T) {
	data, err := bankfile.Format{}.RenderPayment(sampleBatch())
	if err != nil {
		t.Fatal(err)
	}
	// The golden file is the payment file decoded from GB18030, for reading.
	text, err := simplifiedchinese.GB18030.NewDecoder().Bytes(data)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "ZTPAY_B2014020101.decoded.txt", text)
	if bytes.Contains(data, []byte("王芳")) {
		t.Error("the file is UTF-8, not GB18030")
	}
	if n := bytes.Count(data, []byte("\r\n")); n != 5 || !bytes.HasSuffix(data, []byte("\r\n")) || bytes.Count(data, []byte("\n")) != 5 {
		t.Errorf("want CRLF after each of the 5 lines, got %d", n)
	}
	again, _ := bankfile.Format{}.RenderPayment(sampleBatch())
	if !bytes.Equal(data, again) {
		t.Error("the same batch rendered to other bytes")
	}
}

// A name with characters beyond GB2312 and outside the BMP (CJK extensions A
// and B, which GB18030 encodes in four bytes) reaches the bank as it was
// registered.
func TestRenderPaymentRareCharacters(t *testing.T) {
	b := sampleBatch()
	b.Lines[0].Name = "龚䶮𠮷·张"
	data, err := bankfile.Format{}.RenderPayment(b)
	if err != nil {
		t.Fatal(err)
	}
	text, err := simplifiedchinese.GB18030.NewDecoder().Bytes(data)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(text, []byte("|6210670000000000016|龚䶮𠮷·张|2000.00|")) {
		t.Errorf("the name did not come back from GB18030 whole:\n%s", text)
	}
	if !bytes.Contains(data, []byte{0x95, 0x34, 0xb2, 0x35}) { // 𠮷 (U+20BB7) in GB18030
		t.Errorf("U+20BB7 is not encoded as GB18030's four bytes 95 34 B2 35")
	}
}

func TestRenderPaymentRefuses(t *testing.T) {
	for name, c := range map[string]struct {
		edit func(b *pipeline.Batch)
		want string
	}{
		"ErrTotal":        {func(b *pipeline.Batch) { b.TotalFen++ }, "the batch says"},
		"ErrCount":        {func(b *pipeline.Batch) { b.Count++ }, "the batch says"},
		"ErrPipeInName":   {func(b *pipeline.Batch) { b.Lines[0].Name = "王|芳" }, "holds '|' or a control character"},
		"ErrLFInName":     {func(b *pipeline.Batch) { b.Lines[0].Name = "王\n芳" }, "holds '|' or a control character"},
		"ErrTabInName":    {func(b *pipeline.Batch) { b.Lines[0].Name = "王\t芳" }, "holds '|' or a control character"},
		"ErrCRInMemo":     {func(b *pipeline.Batch) { b.Memo = "资助\r" }, "holds '|' or a control character"},
		"ErrNoPayer":      {func(b *pipeline.Batch) { b.PayerAccount = "" }, "no payer account"},
		"ErrBlankPayer":   {func(b *pipeline.Batch) { b.PayerAccount = " \t" }, "no payer account"},
		"ErrTooManyLines": {func(b *pipeline.Batch) { b.Count = bankfile.MaxLines + 1 }, "1000000 lines, more than a payment file numbers (999999)"},
		// MaxLines itself is numbered: such a batch passes that check and
		// meets the next (its lines here are fewer than it says).
		"ErrCountAtMaxLines": {func(b *pipeline.Batch) { b.Count = bankfile.MaxLines }, "the batch says 999999,"},
	} {
		t.Run(name, func(t *testing.T) {
			b := sampleBatch()
			c.edit(b)
			if _, err := (bankfile.Format{}).RenderPayment(b); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one saying %q", err, c.want)
			}
		})
	}
}

func TestSidecar(t *testing.T) {
	got := string(bankfile.Format{}.Sidecar("ZTPAY_B1.txt", []byte("abc")))
	if got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  ZTPAY_B1.txt\n" {
		t.Errorf("sidecar = %q", got)
	}
}

func TestParseResult(t *testing.T) {
	pay, _ := bankfile.Format{}.RenderPayment(sampleBatch())
	name, res, err := bank.Answer(pay, map[string]bank.Failure{"R002-1": bank.NameMismatch})
	if err != nil || name != "ZTRES_B2014020101.txt" {
		t.Fatal(name, err)
	}
	rf, err := bankfile.ParseResult(name, bytes.NewReader(res))
	if err != nil {
		t.Fatal(err)
	}
	if rf.BatchID != "B2014020101" || rf.Count != 3 || rf.TotalFen != 500000 || len(rf.Lines) != 3 ||
		rf.SuccessCount != 2 || rf.SuccessFen != 400000 || rf.FailCount != 1 || rf.FailFen != 100000 {
		t.Fatalf("parsed %+v", rf)
	}
	if l := rf.Lines[1]; l.Success || l.Code != "1002" || l.Message != "户名不符" || l.PaymentRef != "R002-1" {
		t.Errorf("line 2 = %+v", l)
	}
	if err := pipeline.CheckResult(name, rf, sampleBatch()); err != nil {
		t.Errorf("a faithful answer does not check: %v", err)
	}
}

// TestParseResultErrors: a result file that cannot be read whole is a file
// error naming the file, the line where there is one, and what is wrong.
func TestParseResultErrors(t *testing.T) {
	ok := "H|B1|1|10.00\r\nD|000001|R1-1|6210670000000000016|10.00|S|0000|ok\r\nT|1|10.00|0|0.00\r\n"
	good, err := bankfile.ParseResult("r", strings.NewReader(ok))
	if err != nil {
		t.Fatalf("good file: %v", err)
	}
	// A blank line, and a last line with LF alone, change nothing.
	spaced := strings.Replace(ok, "\r\nT|", "\r\n\r\nT|", 1)
	for _, text := range []string{spaced, strings.TrimSuffix(ok, "\r\n") + "\n"} {
		if rf, err := bankfile.ParseResult("r", strings.NewReader(text)); err != nil || !reflect.DeepEqual(rf, good) {
			t.Errorf("%q: %+v, %v; want %+v", text, rf, err, good)
		}
	}
	for name, c := range map[string]struct{ text, want string }{
		"ErrNoTrailer":    {"H|B1|1|10.00\r\nD|000001|R1-1|6210670000000000016|10.00|S|0000|ok\r\n", "r: no header or no trailer"},
		"ErrBadAmount":    {strings.Replace(ok, "|10.00|S", "|10.0|S", 1), `r:2: amount: "10.0" is not an amount in 0.00 form`},
		"ErrNoUnits":      {strings.Replace(ok, "|10.00|S", "|.00|S", 1), `r:2: amount: ".00" is not an amount in 0.00 form`},
		"ErrBadOutcome":   {strings.Replace(ok, "|S|", "|X|", 1), `r:2: outcome "X" is neither S nor F`},
		"ErrExtraField":   {strings.Replace(ok, "|ok", "|ok|x", 1), `r:2: unexpected line "D|000001|R1-1|621067"`},
		"ErrAfterTrail":   {ok + "D|000002|R2-1|1|1.00|S|0|x\r\n", "r:4: text after the trailer"},
		"ErrNoHeader":     {"D|000001|R1-1|6210670000000000016|10.00|S|0000|ok\r\nT|1|10.00|0|0.00\r\n", `r:1: unexpected line "D|`},
		"ErrTrailerFirst": {"T|1|10.00|0|0.00\r\n" + ok, `r:1: unexpected line "T|1|10.00|0|0.00"`},
		"ErrNegativeFee":  {strings.Replace(ok, "T|1|10.00", "T|1|-10.00", 1), `r:3: trailer: "-10.00" is not an amount`},
		"ErrBadSequence":  {strings.Replace(ok, "D|000001|", "D|00000x|", 1), `r:2: sequence "00000x" is not a line number`},
		"ErrZeroSeq":      {strings.Replace(ok, "D|000001|", "D|000000|", 1), `r:2: sequence "000000" is not a line number`},
		"ErrBadCount":     {strings.Replace(ok, "H|B1|1|", "H|B1|one|", 1), `r:1: count: "one" is not a count`},
		"ErrNegCount":     {strings.Replace(ok, "T|1|10.00|0|", "T|-1|10.00|0|", 1), `r:3: trailer: "-1" is not a count`},
		"ErrNotGB18030":   {strings.Replace(ok, "|ok", "|\xff\xfe", 1), "r:2: undecodable bytes"},
		"ErrEmpty":        {"", "r: no header or no trailer"},
		"ErrTwoHeaders":   {"H|B1|1|10.00\r\n" + ok, `r:2: unexpected line "H|B1|1|10.00"`},
		"ErrBeforeHead":   {"D|000001|R1-1|6210670000000000016|10.00|S|0000|ok\r\n" + ok, `r:1: unexpected line "D|`},
		"ErrLineTooLong":  {strings.Replace(ok, "|ok", "|"+strings.Repeat("x", 1<<20), 1), "r: bufio.Scanner: token too long"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := bankfile.ParseResult("r", strings.NewReader(c.text))
			if !pipeline.IsFileError(err) || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("err = %v, want a file error beginning %q", err, c.want)
			}
		})
	}
}

func FuzzParseResult(f *testing.F) {
	f.Add([]byte("H|B1|1|10.00\r\nD|000001|R1-1|6210670000000000016|10.00|S|0000|ok\r\nT|1|10.00|0|0.00\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rf, err := bankfile.ParseResult("r", bytes.NewReader(data))
		if err != nil {
			if !pipeline.IsFileError(err) {
				t.Fatalf("not a file error: %v", err)
			}
			return
		}
		for _, l := range rf.Lines {
			if l.Seq <= 0 || l.AmountFen < 0 {
				t.Fatalf("line breaks an invariant: %+v", l)
			}
		}
		if rf.Count < 0 || rf.TotalFen < 0 || rf.SuccessFen < 0 || rf.FailFen < 0 {
			t.Fatalf("negative totals: %+v", rf)
		}
	})
}

// BenchmarkRenderPayment renders a full batch of 10,000 lines.
func BenchmarkRenderPayment(b *testing.B) {
	batch := &pipeline.Batch{ID: "B2015011001", BusinessDate: pipeline.MustDate("2015-01-10"), PayerAccount: "0200001009000012345",
		Memo: "职业发展助推计划资助"}
	for i := range 10000 {
		batch.Lines = append(batch.Lines, pipeline.BatchLine{Seq: i + 1, PaymentRef: "R" + strings.Repeat("1", 6) + "-1",
			CardNumber: "6210670000000000016", Name: "阿依古丽·买买提", AmountFen: 200000})
		batch.Count++
		batch.TotalFen += 200000
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := (bankfile.Format{}).RenderPayment(batch); err != nil {
			b.Fatal(err)
		}
	}
}
