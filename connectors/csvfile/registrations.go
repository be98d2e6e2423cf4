package csvfile

import (
	"errors"
	"io"

	"zhutui/pipeline"
)

var registrationColumns = []column{
	{"registration_id", "登记编号", true},
	{"updated_at", "更新时间", true},
	{"submitted_at", "提交时间", true},
	{"name", "姓名", true},
	{"id_number", "身份证号", true},
	{"card_number", "京卡号", true},
	{"mobile", "手机号", true},
	{"certificate_number", "证书编号", true},
	{"occupation", "职业（工种）", true},
	{"level", "等级", true},
	{"issue_date", "发证日期", true},
	{"station", "服务站", true},
	{"verification", "核对状态", true},
	{"verified_at", "核对时间", false},
	{"verified_by", "核对人", false},
}

// Registrations returns a source that reads a registration export
// (INTERFACES.md §2.1) from r, in the encoding Inspect found. The source calls
// row for every good row with the line it starts on, and reject for every row
// that cannot be applied; the Registration passed to row is reused, so copy it
// to keep it. A file that cannot be trusted as a whole gives a
// *pipeline.FileError; an error from row or reject stops the read and is
// returned.
func Registrations(file string, r io.Reader, enc string) pipeline.RegistrationSource {
	return func(row pipeline.RegistrationSink, reject pipeline.RejectSink) error {
		t, err := newTable(file, r, enc, registrationColumns)
		if err != nil {
			return err
		}
		var reg pipeline.Registration
		return t.each(func() error {
			if err := t.parseRegistration(&reg); err != nil {
				return err
			}
			return row(t.line, &reg)
		}, reject)
	}
}

func (t *table) parseRegistration(reg *pipeline.Registration) error {
	var err error
	*reg = pipeline.Registration{
		ID:                pipeline.NormalizeText(t.get("registration_id")),
		Name:              t.get("name"),
		IDNumber:          t.get("id_number"),
		CardNumber:        t.get("card_number"),
		Mobile:            t.get("mobile"),
		CertificateNumber: t.get("certificate_number"),
		Occupation:        t.get("occupation"),
		Station:           pipeline.NormalizeText(t.get("station")),
		VerifiedBy:        pipeline.NormalizeText(t.get("verified_by")),
	}
	if reg.ID == "" {
		return t.reject("registration_id", errors.New("empty"))
	}
	if !pipeline.BankField(reg.ID) {
		return t.reject("registration_id", errors.New("holds '|' or a control character (a line break, say): it goes into the payment file's references"))
	}
	if reg.UpdatedAt, err = pipeline.ParseTime(t.get("updated_at")); err != nil {
		return t.reject("updated_at", err)
	}
	if reg.SubmittedAt, err = pipeline.ParseTime(t.get("submitted_at")); err != nil {
		return t.reject("submitted_at", err)
	}
	if reg.Level, err = pipeline.ParseLevel(t.get("level")); err != nil {
		return t.reject("level", err)
	}
	if reg.IssueDate, err = t.date("issue_date"); err != nil {
		return t.reject("issue_date", err)
	}
	if reg.Verification, err = pipeline.ParseVerification(t.get("verification")); err != nil {
		return t.reject("verification", err)
	}
	if v := pipeline.NormalizeText(t.get("verified_at")); v != "" {
		if reg.VerifiedAt, err = pipeline.ParseTime(v); err != nil {
			return t.reject("verified_at", err)
		}
	}
	return nil
}
