// Package bankfile writes the payment file the bank takes (INTERFACES.md
// §4.1) and reads the result file it answers with (§4.2): GB18030 text, CRLF
// after every line, fields separated by '|'.
package bankfile

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"

	"zhutui/pipeline"
)

// Format is the bank's file format.
type Format struct{}

// MaxLines is the most lines a payment file can number: six digits (D|000001…).
const MaxLines = 999999

var _ pipeline.BankFormat = Format{}

// RenderPayment writes a batch's payment file:
//
//	H|<batch_id>|<payer_account>|<value_date YYYYMMDD>|<count>|<total>|CNY
//	D|<seq 000001…>|<payment_ref>|<card_number>|<name>|<amount>|<memo>
//	T|<count>|<total>
//
// It is a pure function of the batch: the same batch gives the same bytes.
// It refuses a batch whose counts or totals do not add up, that has more
// lines than the file can number, or whose text cannot go into the file.
func (Format) RenderPayment(b *pipeline.Batch) ([]byte, error) {
	if strings.TrimSpace(b.PayerAccount) == "" {
		return nil, fmt.Errorf("render batch %s: %w", b.ID, pipeline.ErrNoPayerAccount)
	}
	if b.Count > MaxLines {
		return nil, fmt.Errorf("render batch %s: %d lines, more than a payment file numbers (%d)", b.ID, b.Count, MaxLines)
	}
	var total int64
	for _, l := range b.Lines {
		total += l.AmountFen
	}
	if int64(len(b.Lines)) != b.Count || total != b.TotalFen {
		return nil, fmt.Errorf("render batch %s: %d lines totalling %s, the batch says %d, %s",
			b.ID, len(b.Lines), pipeline.FormatFen(total), b.Count, pipeline.FormatFen(b.TotalFen))
	}
	var out strings.Builder
	line := func(fields ...string) error {
		for _, f := range fields {
			if !pipeline.BankField(f) {
				return fmt.Errorf("render batch %s: field %q holds '|' or a control character (a line break, say)", b.ID, f)
			}
		}
		out.WriteString(strings.Join(fields, "|"))
		out.WriteString("\r\n")
		return nil
	}
	valueDate := strings.ReplaceAll(b.BusinessDate.String(), "-", "")
	if err := line("H", b.ID, b.PayerAccount, valueDate, strconv.FormatInt(b.Count, 10), pipeline.FormatFen(b.TotalFen), "CNY"); err != nil {
		return nil, err
	}
	for _, l := range b.Lines {
		if err := line("D", fmt.Sprintf("%06d", l.Seq), l.PaymentRef, l.CardNumber, l.Name, pipeline.FormatFen(l.AmountFen), b.Memo); err != nil {
			return nil, err
		}
	}
	if err := line("T", strconv.FormatInt(b.Count, 10), pipeline.FormatFen(b.TotalFen)); err != nil {
		return nil, err
	}
	data, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(out.String()))
	if err != nil {
		return nil, fmt.Errorf("render batch %s: %w", b.ID, err)
	}
	return data, nil
}

// Sidecar returns the .sha256 file that goes beside a payment file, in
// sha256sum's format.
func (Format) Sidecar(name string, data []byte) []byte {
	sum := sha256.Sum256(data)
	return []byte(hex.EncodeToString(sum[:]) + "  " + name + "\n")
}

// ParseResult reads a result file:
//
//	H|<batch_id>|<count>|<total>
//	D|<seq>|<payment_ref>|<card_number>|<amount>|<S or F>|<code>|<message>
//	T|<success_count>|<success_total>|<fail_count>|<fail_total>
//
// Any line it cannot read makes the whole file untrustworthy: a
// *pipeline.FileError naming the line.
func ParseResult(name string, r io.Reader) (*pipeline.ResultFile, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	// Always GB18030 (ASCII reads the same): a GB18030 message can happen to
	// be valid UTF-8 too.
	text, _, err := transform.Bytes(simplifiedchinese.GB18030.NewDecoder(), raw)
	if err != nil {
		return nil, &pipeline.FileError{File: name, Reason: "undecodable: " + err.Error()}
	}
	rf := &pipeline.ResultFile{}
	bad := func(n int, format string, args ...any) error {
		return &pipeline.FileError{File: name, Line: n, Reason: fmt.Sprintf(format, args...)}
	}
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	n, header, trailer := 0, false, false
	for sc.Scan() {
		n++
		s := strings.TrimSuffix(sc.Text(), "\r")
		if s == "" {
			continue
		}
		if strings.ContainsRune(s, utf8.RuneError) {
			return nil, bad(n, "undecodable bytes")
		}
		if trailer {
			return nil, bad(n, "text after the trailer")
		}
		f := strings.Split(s, "|")
		switch {
		case f[0] == "H" && !header && len(f) == 4:
			header = true
			rf.BatchID = f[1]
			if rf.Count, err = count(f[2]); err != nil {
				return nil, bad(n, "count: %v", err)
			}
			if rf.TotalFen, err = amount(f[3]); err != nil {
				return nil, bad(n, "total: %v", err)
			}
		case f[0] == "D" && header && len(f) == 8:
			var l pipeline.ResultLine
			if l.Seq, err = strconv.Atoi(f[1]); err != nil || l.Seq <= 0 {
				return nil, bad(n, "sequence %q is not a line number", f[1])
			}
			l.PaymentRef, l.CardNumber, l.Code, l.Message = f[2], f[3], f[6], f[7]
			if l.AmountFen, err = amount(f[4]); err != nil {
				return nil, bad(n, "amount: %v", err)
			}
			switch f[5] {
			case "S":
				l.Success = true
			case "F":
			default:
				return nil, bad(n, "outcome %q is neither S nor F", f[5])
			}
			rf.Lines = append(rf.Lines, l)
		case f[0] == "T" && header && len(f) == 5:
			trailer = true
			for i, p := range []*int64{&rf.SuccessCount, &rf.SuccessFen, &rf.FailCount, &rf.FailFen} {
				parse := count
				if i%2 == 1 {
					parse = amount
				}
				if *p, err = parse(f[i+1]); err != nil {
					return nil, bad(n, "trailer: %v", err)
				}
			}
		default:
			return nil, bad(n, "unexpected line %.20q", s)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, &pipeline.FileError{File: name, Reason: err.Error()}
	}
	if !header || !trailer {
		return nil, &pipeline.FileError{File: name, Reason: "no header or no trailer"}
	}
	return rf, nil
}

func count(s string) (int64, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q is not a count", s)
	}
	return v, nil
}

// amount reads an amount in the files' 0.00 form.
func amount(s string) (int64, error) {
	i := strings.IndexByte(s, '.')
	if i < 1 || len(s)-i != 3 {
		return 0, fmt.Errorf("%q is not an amount in 0.00 form", s)
	}
	d, err := pipeline.ParseAmount(s)
	if err != nil || d.IsNegative() {
		return 0, errors.Join(fmt.Errorf("%q is not an amount", s), err)
	}
	return pipeline.Fen(d), nil
}
