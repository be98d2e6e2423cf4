package csvfile_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"

	"golang.org/x/text/encoding/simplifiedchinese"

	"zhutui/connectors/csvfile"
	"zhutui/pipeline"
)

type readResult struct {
	regs    []pipeline.Registration
	lines   []int
	certs   []pipeline.Certificate
	rejects []pipeline.Reject
	err     error
}

func readRegs(t testing.TB, data []byte) readResult {
	t.Helper()
	in, err := csvfile.Inspect(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var res readResult
	res.err = csvfile.Registrations("regs.csv", bytes.NewReader(data), in.Encoding)(
		func(line int, r *pipeline.Registration) error {
			res.regs = append(res.regs, *r)
			res.lines = append(res.lines, line)
			return nil
		},
		func(r pipeline.Reject) error { res.rejects = append(res.rejects, r); return nil })
	return res
}

func readCerts(t testing.TB, data []byte) readResult {
	t.Helper()
	in, err := csvfile.Inspect(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var res readResult
	res.err = csvfile.Certificates("certs.csv", bytes.NewReader(data), in.Encoding)(
		func(line int, c *pipeline.Certificate) error {
			res.certs = append(res.certs, *c)
			res.lines = append(res.lines, line)
			return nil
		},
		func(r pipeline.Reject) error { res.rejects = append(res.rejects, r); return nil })
	return res
}

const regHeader = "registration_id,updated_at,submitted_at,name,id_number,card_number,mobile,certificate_number,occupation,level,issue_date,station,verification,verified_at,verified_by\n"
const regRow = "R1,2014-01-10 09:00:00,2014-01-10 09:00:00,王芳,110105198001010016,6210670000000000016,13800138000,C001,半导体芯片制造工,一级,2013/11/5,东城区服务站,通过,2014-01-12 10:00:00,dc-07\n"

func gb18030(t testing.TB, s string) []byte {
	b, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRegistrations(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		res := readRegs(t, []byte(regHeader+regRow))
		if res.err != nil || len(res.regs) != 1 || len(res.rejects) != 0 {
			t.Fatalf("err %v, %d rows, rejects %v", res.err, len(res.regs), res.rejects)
		}
		r := res.regs[0]
		if r.ID != "R1" || r.Level != 1 || r.IssueDate.String() != "2013-11-05" || r.Verification != pipeline.VerificationPassed ||
			pipeline.FormatTime(r.SubmittedAt) != "2014-01-10 09:00:00" || r.Name != "王芳" || res.lines[0] != 2 {
			t.Fatalf("got %+v at line %d", r, res.lines[0])
		}
	})
	t.Run("OK GB18030 Chinese headers any order CRLF", func(t *testing.T) {
		src := "核对人,登记编号,更新时间,提交时间,姓名,身份证号,京卡号,手机号,证书编号,职业(工种),等级,发证日期,服务站,核对状态,核对时间,多余的列\r\n" +
			"dc-07,R1,2014-01-10 09:00:00,2014-01-10 09:00:00,王芳,110105198001010016,6210670000000000016,13800138000,C001,半导体芯片制造工,1,2013-11-05,东城区服务站,通过,2014-01-12 10:00:00,x\r\n"
		res := readRegs(t, gb18030(t, src))
		if res.err != nil || len(res.regs) != 1 {
			t.Fatalf("err %v, %d rows, rejects %v", res.err, len(res.regs), res.rejects)
		}
		utf := readRegs(t, []byte(regHeader+regRow)).regs[0]
		if got := res.regs[0]; got != utf {
			t.Fatalf("GB18030 row %+v differs from UTF-8 row %+v", got, utf)
		}
	})
	t.Run("OK GB18030 four-byte characters", func(t *testing.T) {
		// CJK extension A (two bytes in GB18030) and B (four bytes, outside the BMP).
		res := readRegs(t, gb18030(t, regHeader+strings.Replace(regRow, "王芳", "龚䶮𠮷·张", 1)))
		if res.err != nil || len(res.regs) != 1 || res.regs[0].Name != "龚䶮𠮷·张" {
			t.Fatalf("err %v, rows %+v, rejects %v", res.err, res.regs, res.rejects)
		}
	})
	t.Run("OK BOM", func(t *testing.T) {
		res := readRegs(t, []byte("\ufeff"+regHeader+regRow))
		if res.err != nil || len(res.regs) != 1 {
			t.Fatalf("err %v, %d rows", res.err, len(res.regs))
		}
	})
	t.Run("ErrMissingColumn", func(t *testing.T) {
		res := readRegs(t, []byte(strings.Replace(regHeader, "card_number", "card", 1)+regRow))
		var fe *pipeline.FileError
		if !errors.As(res.err, &fe) || !strings.Contains(fe.Error(), "card_number (京卡号)") || len(res.regs) != 0 {
			t.Fatalf("err = %v, rows %d", res.err, len(res.regs))
		}
	})
	t.Run("ErrDuplicateColumn", func(t *testing.T) {
		res := readRegs(t, []byte(strings.TrimSuffix(regHeader, "\n")+",姓名\n"))
		if !pipeline.IsFileError(res.err) || !strings.Contains(res.err.Error(), "name appears twice") {
			t.Fatalf("err = %v", res.err)
		}
	})
	t.Run("ErrEmpty", func(t *testing.T) {
		if res := readRegs(t, nil); !pipeline.IsFileError(res.err) {
			t.Fatalf("err = %v", res.err)
		}
	})
	t.Run("ErrUndecodable", func(t *testing.T) {
		res := readRegs(t, append([]byte(regHeader), []byte("R1,\xff\xff\n")...))
		if !pipeline.IsFileError(res.err) || !strings.Contains(res.err.Error(), "regs.csv:2") {
			t.Fatalf("err = %v", res.err)
		}
	})
	// Bytes neither UTF-8 nor GB18030 in the header, even in a column that
	// would be ignored, make the whole file untrusted.
	t.Run("ErrUndecodableHeader", func(t *testing.T) {
		res := readRegs(t, []byte(strings.TrimSuffix(regHeader, "\n")+",\xff\xff\n"+strings.TrimSuffix(regRow, "\n")+",x\n"))
		if !pipeline.IsFileError(res.err) || !strings.Contains(res.err.Error(), "header is not valid") || len(res.regs) != 0 {
			t.Fatalf("err = %v, rows %d", res.err, len(res.regs))
		}
	})
	t.Run("RejectedRows", func(t *testing.T) {
		src := regHeader +
			strings.Replace(regRow, "2013/11/5", "2013-13-05", 1) + // line 2: bad issue date
			"R2,short\n" + // line 3: wrong column count
			strings.Replace(strings.Replace(regRow, "R1", "R3", 1), "通过", "maybe", 1) + // line 4
			strings.Replace(strings.Replace(regRow, "R1", "R4", 1), "一级", "高级", 1) + // line 5
			strings.Replace(regRow, "R1,2014-01-10 09:00:00", ",2014-01-10 09:00:00", 1) + // line 6: no id
			strings.Replace(regRow, "R1", "R6", 1) // line 7: fine
		res := readRegs(t, []byte(src))
		if res.err != nil {
			t.Fatal(res.err)
		}
		want := []struct {
			line  int
			field string
		}{{2, "issue_date"}, {3, ""}, {4, "verification"}, {5, "level"}, {6, "registration_id"}}
		if len(res.rejects) != len(want) {
			t.Fatalf("rejects = %v", res.rejects)
		}
		for i, w := range want {
			if r := res.rejects[i]; r.Line != w.line || r.Field != w.field || r.File != "regs.csv" || r.Reason == "" {
				t.Errorf("reject %d = %+v, want line %d field %q", i, r, w.line, w.field)
			}
		}
		if !strings.Contains(res.rejects[1].Reason, "wrong column count") {
			t.Errorf("column count reason = %q", res.rejects[1].Reason)
		}
		if len(res.regs) != 1 || res.regs[0].ID != "R6" || res.lines[0] != 7 {
			t.Errorf("good rows = %+v at %v", res.regs, res.lines)
		}
	})
	// A file that cannot be read (a disk's error) is not a file that cannot
	// be trusted: the error is not a *pipeline.FileError, so the file is not
	// quarantined (which would refuse its bytes for ever) and the next night
	// takes it again. It names the line being read. Bytes that are not
	// UTF-8 in a file read as UTF-8, and a header that is not CSV, are the
	// file's own fault.
	for name, c := range map[string]struct {
		data      string
		broken    bool // the read fails after data
		want      string
		fileError bool
	}{
		"ErrReadFailsMidFile":    {regHeader + regRow + strings.Replace(regRow, "R1", "R2", 1), true, "regs.csv:4: read: input/output error", false},
		"ErrReadFailsInHeader":   {regHeader[:20], true, "regs.csv:1: read: input/output error", false},
		"ErrInvalidUTF8MidFile":  {regHeader + regRow + "R2,\xff\n", false, "regs.csv:3: undecodable: encoding: invalid UTF-8", true},
		"ErrInvalidUTF8InHeader": {"registration_id,\xff\n", false, "regs.csv:1: unreadable header: encoding: invalid UTF-8", true},
		"ErrBareQuoteInHeader":   {strings.Replace(regHeader, ",name,", ",na\"me,", 1), false, "regs.csv:1: unreadable header: bare \" in non-quoted-field", true},
	} {
		t.Run(name, func(t *testing.T) {
			var r io.Reader = strings.NewReader(c.data)
			if c.broken {
				r = io.MultiReader(r, iotest.ErrReader(errors.New("input/output error")))
			}
			err := csvfile.Registrations("regs.csv", r, "UTF-8")(
				func(int, *pipeline.Registration) error { return nil }, func(pipeline.Reject) error { return nil })
			var fe *pipeline.FileError
			if err == nil || err.Error() != c.want || errors.As(err, &fe) != c.fileError {
				t.Fatalf("err = %v (a file error: %v), want %q (a file error: %v)", err, errors.As(err, &fe), c.want, c.fileError)
			}
		})
	}
	t.Run("ErrUnclosedQuote", func(t *testing.T) {
		// A quote opened in line 3 and not closed where the field ends runs
		// on into the lines after it: they cannot be told apart as rows, so
		// the file is not to be trusted, rather than lines 4 and 5 lost
		// inside one rejected row.
		src := regHeader + regRow + strings.Replace(regRow, "R1,", "R2,\"", 1) +
			strings.Replace(regRow, "R1", "R3", 1) + strings.Replace(regRow, "R1", "R4", 1)
		res := readRegs(t, []byte(src))
		var fe *pipeline.FileError
		if !errors.As(res.err, &fe) || fe.Line != 3 || !strings.Contains(fe.Error(), "regs.csv:3") ||
			!strings.Contains(fe.Reason, "lines 3 to 5") {
			t.Fatalf("err = %v, rejects %v", res.err, res.rejects)
		}
	})
	// A quote error that ends on its own line loses only its row: a bare
	// quote in an unquoted field, or text after a quoted field's closing
	// quote (csv.ErrQuote, as an unclosed one is).
	for name, c := range map[string]struct{ field, reason string }{
		"BadQuoteOnOneLineRejectsTheRow":        {"王\"芳", "bare \""},
		"ExtraneousQuoteOnOneLineRejectsTheRow": {"\"王\"芳", "extraneous or missing \" in quoted-field"},
	} {
		t.Run(name, func(t *testing.T) {
			src := regHeader + strings.Replace(regRow, "王芳", c.field, 1) + strings.Replace(regRow, "R1", "R2", 1)
			res := readRegs(t, []byte(src))
			if res.err != nil || len(res.rejects) != 1 || res.rejects[0].Line != 2 || !strings.Contains(res.rejects[0].Reason, c.reason) ||
				len(res.regs) != 1 || res.regs[0].ID != "R2" {
				t.Fatalf("err %v, rejects %v, rows %+v", res.err, res.rejects, res.regs)
			}
		})
	}
	t.Run("OK without the optional columns", func(t *testing.T) {
		header := strings.Replace(regHeader, ",verified_at,verified_by", "", 1)
		row := strings.Replace(strings.Replace(regRow, ",2014-01-12 10:00:00,dc-07", "", 1), "通过", "待核对", 1)
		res := readRegs(t, []byte(header+row))
		if res.err != nil || len(res.regs) != 1 || len(res.rejects) != 0 {
			t.Fatalf("err %v, %d rows, rejects %v", res.err, len(res.regs), res.rejects)
		}
		if r := res.regs[0]; !r.VerifiedAt.IsZero() || r.VerifiedBy != "" || r.Verification != pipeline.VerificationPending {
			t.Fatalf("got %+v", r)
		}
	})
	t.Run("OK header in capitals", func(t *testing.T) {
		res := readRegs(t, []byte(strings.ToUpper(regHeader)+regRow))
		if res.err != nil || len(res.regs) != 1 {
			t.Fatalf("err %v, %d rows", res.err, len(res.regs))
		}
	})
	// The registration id and station are keys and group names: spaces
	// around them are not part of them. A verified_at of spaces is none.
	t.Run("OK spaces around keys", func(t *testing.T) {
		row := strings.Replace(strings.Replace(strings.Replace(regRow, "R1,", " R1\u3000,", 1),
			"东城区服务站", " 东城区服务站 ", 1), "2014-01-12 10:00:00", "  ", 1)
		res := readRegs(t, []byte(regHeader+row))
		if res.err != nil || len(res.regs) != 1 || len(res.rejects) != 0 {
			t.Fatalf("err %v, %d rows, rejects %v", res.err, len(res.regs), res.rejects)
		}
		if r := res.regs[0]; r.ID != "R1" || r.Station != "东城区服务站" || !r.VerifiedAt.IsZero() {
			t.Fatalf("got id %q, station %q, verified at %v", r.ID, r.Station, r.VerifiedAt)
		}
	})
	// A registration id goes into the payment file's references, which
	// cannot hold '|' or a control character; an issue date must be given.
	t.Run("RejectedKeysAndEmptyDate", func(t *testing.T) {
		src := regHeader + strings.Replace(regRow, "R1,", "\"R\n1\",", 1) + // lines 2-3
			strings.Replace(regRow, "R1,", "R|1,", 1) + // line 4
			strings.Replace(regRow, "2013/11/5", " ", 1) + // line 5
			strings.Replace(regRow, "R1,", "R\t1,", 1) // line 6
		res := readRegs(t, []byte(src))
		if res.err != nil || len(res.regs) != 0 || len(res.rejects) != 4 {
			t.Fatalf("err %v, rows %+v, rejects %v", res.err, res.regs, res.rejects)
		}
		for i, w := range []struct {
			line          int
			field, reason string
		}{{2, "registration_id", "line break"}, {4, "registration_id", "'|'"}, {5, "issue_date", "empty"}, {6, "registration_id", "control character"}} {
			if r := res.rejects[i]; r.Line != w.line || r.Field != w.field || !strings.Contains(r.Reason, w.reason) {
				t.Errorf("reject %d = %+v, want line %d field %s saying %q", i, r, w.line, w.field, w.reason)
			}
		}
	})
	t.Run("QuotedNewlineKeepsLineNumbers", func(t *testing.T) {
		src := regHeader + strings.Replace(regRow, "王芳", "\"王\n芳\"", 1) + strings.Replace(regRow, "R1", "R2", 1)
		res := readRegs(t, []byte(src))
		if res.err != nil || len(res.regs) != 2 || res.lines[1] != 4 || res.regs[0].Name != "王\n芳" {
			t.Fatalf("err %v, rows %+v, lines %v", res.err, res.regs, res.lines)
		}
	})
}

func TestCertificates(t *testing.T) {
	src := "证书编号,身份证号,姓名,职业（工种）,等级,发证日期,鉴定机构代码,鉴定机构名称,状态,更新时间\n" +
		"C001,110105198001010016,王芳,半导体芯片制造工,1,2013-11-05,110105001,北京市职业技能鉴定管理中心,撤销,2013-12-01 08:00:00\n" +
		"C002,110105198001010016,王芳,半导体芯片制造工,6,2013-11-05,110105001,x,有效,2013-12-01 08:00:00\n" +
		"C003,110105198001010016,王芳,半导体芯片制造工,2,2013-11-05,110105001,x,unknown,2013-12-01 08:00:00\n"
	res := readCerts(t, gb18030(t, src))
	if res.err != nil {
		t.Fatal(res.err)
	}
	if len(res.certs) != 1 || res.certs[0].Status != pipeline.CertificateRevoked || res.certs[0].Number != "C001" {
		t.Fatalf("certs = %+v", res.certs)
	}
	if len(res.rejects) != 2 || res.rejects[0].Field != "level" || res.rejects[0].Line != 3 || res.rejects[1].Field != "status" {
		t.Fatalf("rejects = %+v", res.rejects)
	}
}

// The authority's name may be left out; the certificate number is a key,
// trimmed, and cannot be empty.
func TestCertificatesKeys(t *testing.T) {
	src := "certificate_number,id_number,name,occupation,level,issue_date,authority_code,status,updated_at\n" +
		" C001\u3000,110105198001010016,王芳,半导体芯片制造工,1,2013-11-05,110105001,valid,2013-12-01 08:00:00\n" +
		"\u3000,110105198001010016,王芳,半导体芯片制造工,1,2013-11-05,110105001,valid,2013-12-01 08:00:00\n"
	res := readCerts(t, []byte(src))
	if res.err != nil {
		t.Fatal(res.err)
	}
	if len(res.certs) != 1 || res.certs[0].Number != "C001" || res.certs[0].AuthorityName != "" {
		t.Fatalf("certs = %+v", res.certs)
	}
	if len(res.rejects) != 1 || res.rejects[0].Line != 3 || res.rejects[0].Field != "certificate_number" {
		t.Fatalf("rejects = %+v", res.rejects)
	}
}

func TestInspect(t *testing.T) {
	in, err := csvfile.Inspect(bytes.NewReader([]byte("abc")))
	if err != nil || in.Encoding != csvfile.UTF8 || in.Size != 3 ||
		in.SHA256 != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("got %+v, %v", in, err)
	}
	// A multi-byte character split across the reader's 256 KiB chunks is
	// still UTF-8: 262,144 is not a multiple of 3.
	big := bytes.Repeat([]byte("职"), 100000)
	if in, _ := csvfile.Inspect(bytes.NewReader(big)); in.Encoding != csvfile.UTF8 {
		t.Errorf("long UTF-8 file read as %s", in.Encoding)
	}
	if in, _ := csvfile.Inspect(bytes.NewReader(gb18030(t, "王芳"))); in.Encoding != csvfile.GB18030 {
		t.Errorf("GB18030 file read as %s", in.Encoding)
	}
	if in, _ := csvfile.Inspect(bytes.NewReader([]byte("ab\xe8\x81"))); in.Encoding != csvfile.GB18030 {
		t.Errorf("file cut inside a UTF-8 character read as %s", in.Encoding)
	}
}

// TestHeaderKind: a first line is a kind's header when it has every
// required column of that kind, in either language and encoding.
func TestHeaderKind(t *testing.T) {
	regs := "registration_id,updated_at,submitted_at,name,id_number,card_number,mobile,certificate_number," +
		"occupation,level,issue_date,station,verification\r\n"
	certs := "证书编号,身份证号,姓名,职业（工种）,等级,发证日期,鉴定机构代码,状态,更新时间\n"
	for _, c := range []struct {
		line []byte
		want pipeline.FileKind
	}{
		{[]byte(regs), pipeline.KindRegistrations},
		{[]byte("\ufeff" + regs), pipeline.KindRegistrations},
		{[]byte(certs), pipeline.KindCertificates},
		{gb18030(t, certs), pipeline.KindCertificates},
		{[]byte(strings.Replace(certs, ",状态", "", 1)), ""}, // a required column short
		{[]byte("H|B2014020101|11|19000.00\r\n"), ""},
		{nil, ""},
	} {
		if got := csvfile.HeaderKind(c.line); got != c.want {
			t.Errorf("HeaderKind(%q) = %q, want %q", c.line, got, c.want)
		}
	}
}

func TestFixtureFilesRead(t *testing.T) {
	for _, name := range []string{"../../fixtures/samples/night1/registrations.csv", "../../fixtures/samples/night2/registrations.csv"} {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if res := readRegs(t, data); res.err != nil || len(res.rejects) > 0 || len(res.regs) == 0 {
			t.Errorf("%s: %v, rejects %v", name, res.err, res.rejects)
		}
	}
	data, err := os.ReadFile("../../fixtures/samples/night1/certificates.csv")
	if err != nil {
		t.Fatal(err)
	}
	if res := readCerts(t, data); res.err != nil || len(res.rejects) > 0 || len(res.certs) == 0 {
		t.Errorf("certificates: %v, rejects %v", res.err, res.rejects)
	}
}

// FuzzRegistrations checks that any bytes either make a file error or rows
// and rejects, never a panic, and that every row handed on keeps the
// invariants the store relies on.
func FuzzRegistrations(f *testing.F) {
	f.Add([]byte(regHeader + regRow))
	f.Add(append([]byte("\ufeff"+regHeader), "R2,short\n"...))
	f.Add([]byte(regHeader + strings.Replace(regRow, "王芳", "\"王\"\"芳\"", 1)))
	f.Fuzz(func(t *testing.T, data []byte) {
		res := readRegs(t, data)
		if res.err != nil && !pipeline.IsFileError(res.err) {
			t.Fatalf("error that is not a file error: %v", res.err)
		}
		for i, r := range res.regs {
			if r.ID == "" || strings.Contains(r.ID, "|") || !pipeline.IsOneLine(r.ID) || r.Level < 1 || r.Level > 5 || r.UpdatedAt.IsZero() ||
				r.SubmittedAt.IsZero() || r.IssueDate.IsZero() || r.Verification == "" || res.lines[i] < 2 {
				t.Fatalf("row breaks an invariant: %+v at line %d", r, res.lines[i])
			}
		}
		for _, rj := range res.rejects {
			if rj.Line < 2 || rj.Reason == "" {
				t.Fatalf("reject without a line or reason: %+v", rj)
			}
		}
	})
}

// FuzzCertificates does the same for the certificate feed.
func FuzzCertificates(f *testing.F) {
	f.Add([]byte("certificate_number,id_number,name,occupation,level,issue_date,authority_code,status,updated_at\n" +
		"C1,110105198001010016,王芳,半导体芯片制造工,1,2013-11-05,11,valid,2013-12-01 08:00:00\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		res := readCerts(t, data)
		if res.err != nil && !pipeline.IsFileError(res.err) {
			t.Fatalf("error that is not a file error: %v", res.err)
		}
		for _, c := range res.certs {
			if pipeline.NormalizeCertificateNumber(c.Number) == "" || c.Level < 1 || c.Level > 5 || c.UpdatedAt.IsZero() ||
				c.IssueDate.IsZero() || (c.Status != pipeline.CertificateValid && c.Status != pipeline.CertificateRevoked) {
				t.Fatalf("row breaks an invariant: %+v", c)
			}
		}
	})
}
