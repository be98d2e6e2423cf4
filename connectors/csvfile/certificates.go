package csvfile

import (
	"errors"
	"io"

	"zhutui/pipeline"
)

var certificateColumns = []column{
	{"certificate_number", "证书编号", true},
	{"id_number", "身份证号", true},
	{"name", "姓名", true},
	{"occupation", "职业（工种）", true},
	{"level", "等级", true},
	{"issue_date", "发证日期", true},
	{"authority_code", "鉴定机构代码", true},
	{"authority_name", "鉴定机构名称", false},
	{"status", "状态", true},
	{"updated_at", "更新时间", true},
}

// Certificates returns a source that reads a certificate feed (INTERFACES.md
// §2.2) as Registrations reads a registration export.
func Certificates(file string, r io.Reader, enc string) pipeline.CertificateSource {
	return func(row pipeline.CertificateSink, reject pipeline.RejectSink) error {
		t, err := newTable(file, r, enc, certificateColumns)
		if err != nil {
			return err
		}
		var c pipeline.Certificate
		return t.each(func() error {
			if err := t.parseCertificate(&c); err != nil {
				return err
			}
			return row(t.line, &c)
		}, reject)
	}
}

func (t *table) parseCertificate(c *pipeline.Certificate) error {
	var err error
	*c = pipeline.Certificate{
		Number:        pipeline.NormalizeText(t.get("certificate_number")),
		IDNumber:      t.get("id_number"),
		Name:          t.get("name"),
		Occupation:    t.get("occupation"),
		AuthorityCode: pipeline.NormalizeText(t.get("authority_code")),
		AuthorityName: pipeline.NormalizeText(t.get("authority_name")),
	}
	if pipeline.NormalizeCertificateNumber(c.Number) == "" {
		return t.reject("certificate_number", errors.New("empty"))
	}
	if c.Level, err = pipeline.ParseLevel(t.get("level")); err != nil {
		return t.reject("level", err)
	}
	if c.IssueDate, err = t.date("issue_date"); err != nil {
		return t.reject("issue_date", err)
	}
	if c.Status, err = pipeline.ParseCertificateStatus(t.get("status")); err != nil {
		return t.reject("status", err)
	}
	if c.UpdatedAt, err = pipeline.ParseTime(t.get("updated_at")); err != nil {
		return t.reject("updated_at", err)
	}
	return nil
}
