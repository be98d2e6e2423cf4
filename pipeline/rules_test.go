package pipeline_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"zhutui/fixtures"
	"zhutui/pipeline"
)

func mustProgramme(tb testing.TB) *pipeline.Programme {
	tb.Helper()
	p, err := pipeline.ParseProgramme(fixtures.Programme2013)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func mustTime(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := pipeline.ParseTime(s)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// validPair returns a registration and its certificate that pass every rule.
func validPair(tb testing.TB) (pipeline.Registration, pipeline.Certificate) {
	r := pipeline.Registration{
		ID: "R1", UpdatedAt: mustTime(tb, "2014-01-10 09:00:00"), SubmittedAt: mustTime(tb, "2014-01-10 09:00:00"),
		Name: "王芳", IDNumber: "110105198001010016", CardNumber: "6210670000000000016", Mobile: "13800138000",
		CertificateNumber: "C001", Occupation: "半导体芯片制造工", Level: 1, IssueDate: pipeline.MustDate("2013-11-05"),
		Station: "东城区服务站", Verification: pipeline.VerificationPassed,
	}
	c := pipeline.Certificate{
		Number: "C001", IDNumber: r.IDNumber, Name: r.Name, Occupation: r.Occupation, Level: 1,
		IssueDate: r.IssueDate, AuthorityCode: "110105001", Status: pipeline.CertificateValid,
		UpdatedAt: mustTime(tb, "2013-12-01 08:00:00"),
	}
	return r, c
}

func codes(d pipeline.Decision) []pipeline.Status {
	var out []pipeline.Status
	for _, f := range d.Findings {
		out = append(out, f.Code)
	}
	return out
}

func TestEvaluate(t *testing.T) {
	p := mustProgramme(t)
	tests := []struct {
		name    string
		edit    func(r *pipeline.Registration, c *pipeline.Certificate)
		noCert  bool
		want    pipeline.Status
		reasons []pipeline.Status // every failing code; nil means just want
		amount  string
		level   int // the level judged, when the case is about it
	}{
		{name: "OK level 1", edit: func(r *pipeline.Registration, c *pipeline.Certificate) {}, want: pipeline.Eligible, amount: "2000"},
		{name: "OK level 2 of a level-1 occupation", edit: func(r *pipeline.Registration, c *pipeline.Certificate) { r.Level, c.Level = 2, 2 },
			want: pipeline.Eligible, amount: "1000"},
		{name: "INVALID_ID_NUMBER check char", edit: func(r *pipeline.Registration, c *pipeline.Certificate) {
			r.IDNumber, c.IDNumber = "110105198001010017", "110105198001010017"
		}, want: pipeline.InvalidIDNumber},
		{name: "INVALID_ID_NUMBER length", edit: func(r *pipeline.Registration, c *pipeline.Certificate) { r.IDNumber = "11010519800101001" },
			want: pipeline.InvalidIDNumber, reasons: []pipeline.Status{pipeline.InvalidIDNumber, pipeline.IDMismatch}},
		{name: "INVALID_ID_NUMBER birth date", edit: func(r *pipeline.Registration, c *pipeline.Certificate) {
			r.IDNumber = "110105198002300012" // 30 February
			c.IDNumber = r.IDNumber
		}, want: pipeline.InvalidIDNumber},
		{name: "ID x is X", edit: func(r *pipeline.Registration, c *pipeline.Certificate) {
			r.IDNumber, c.IDNumber = "11010819750315118x", "11010819750315118X"
		}, want: pipeline.Eligible, amount: "2000"},
		{name: "INVALID_CARD_NUMBER Luhn", edit: func(r *pipeline.Registration, c *pipeline.Certificate) { r.CardNumber = "6210670000000000017" },
			want: pipeline.InvalidCardNumber},
		{name: "INVALID_CARD_NUMBER 15 digits", edit: func(r *pipeline.Registration, c *pipeline.Certificate) { r.CardNumber = "621067000000008" },
			want: pipeline.InvalidCardNumber},
		{name: "card with spaces", edit: func(r *pipeline.Registration, c *pipeline.Certificate) { r.CardNumber = "6210 6700 0000 0000 016" },
			want: pipeline.Eligible, amount: "2000"},
		{name: "INVALID_NAME pipe", edit: func(r *pipeline.Registration, c *pipeline.Certificate) { r.Name, c.Name = "王|芳", "王|芳" },
			want: pipeline.InvalidName},
		{name: "INVALID_NAME empty", edit: func(r *pipeline.Registration, c *pipeline.Certificate) { r.Name = "\u3000" },
			want: pipeline.InvalidName, reasons: []pipeline.Status{pipeline.InvalidName, pipeline.NameMismatch}},
		{name: "INVALID_NAME newline", edit: func(r *pipeline.Registration, c *pipeline.Certificate) { r.Name, c.Name = "王\n芳", "王\n芳" },
			want: pipeline.InvalidName},
		// Beyond §3's three: every control character (session 26).
		{name: "INVALID_NAME tab", edit: func(r *pipeline.Registration, c *pipeline.Certificate) { r.Name, c.Name = "王\t芳", "王\t芳" },
			want: pipeline.InvalidName},
		{name: "INVALID_NAME escape", edit: func(r *pipeline.Registration, c *pipeline.Certificate) { r.Name, c.Name = "王\x1b芳", "王\x1b芳" },
			want: pipeline.InvalidName},
		{name: "INVALID_NAME line separator", edit: func(r *pipeline.Registration, c *pipeline.Certificate) {
			r.Name, c.Name = "王\u2028芳", "王\u2028芳"
		},
			want: pipeline.InvalidName},
		{name: "name with a no-break space", edit: func(r *pipeline.Registration, c *pipeline.Certificate) {
			r.Name, c.Name = "王\u00a0芳", "王\u00a0芳"
		},
			want: pipeline.Eligible, amount: "2000"},
		{name: "STATION_REJECTED", edit: func(r *pipeline.Registration, c *pipeline.Certificate) {
			r.Verification = pipeline.VerificationRejected
		},
			want: pipeline.StationRejected},
		{name: "PENDING_VERIFICATION", edit: func(r *pipeline.Registration, c *pipeline.Certificate) { r.Verification = pipeline.VerificationPending },
			want: pipeline.PendingVerification},
		{name: "PENDING_CERTIFICATE", edit: func(r *pipeline.Registration, c *pipeline.Certificate) {}, noCert: true,
			want: pipeline.PendingCertificate},
		{name: "CERT_REVOKED", edit: func(r *pipeline.Registration, c *pipeline.Certificate) { c.Status = pipeline.CertificateRevoked },
			want: pipeline.CertRevoked},
		{name: "ID_MISMATCH", edit: func(r *pipeline.Registration, c *pipeline.Certificate) { c.IDNumber = "110105198002020021" },
			want: pipeline.IDMismatch},
		{name: "NAME_MISMATCH", edit: func(r *pipeline.Registration, c *pipeline.Certificate) { c.Name = "王芬" },
			want: pipeline.NameMismatch},
		{name: "middle dots match", edit: func(r *pipeline.Registration, c *pipeline.Certificate) {
			r.Name, c.Name = "阿依古丽•买买提", "阿依古丽·买买提"
		}, want: pipeline.Eligible, amount: "2000"},
		{name: "middle dot katakana and full stop", edit: func(r *pipeline.Registration, c *pipeline.Certificate) {
			r.Name, c.Name = "阿依古丽・买买提．江", "阿依古丽‧买买提·江"
		}, want: pipeline.Eligible, amount: "2000"},
		{name: "full-width name letters", edit: func(r *pipeline.Registration, c *pipeline.Certificate) { r.Name, c.Name = "ＡＢＣ", " ABC\u3000" },
			want: pipeline.Eligible, amount: "2000"},
		{name: "OCCUPATION_MISMATCH", edit: func(r *pipeline.Registration, c *pipeline.Certificate) { c.Occupation = "电子计算机调试工" },
			want: pipeline.OccupationMismatch},
		{name: "parentheses of both widths", edit: func(r *pipeline.Registration, c *pipeline.Certificate) {
			r.Occupation, c.Occupation, r.Level, c.Level = "汽车（拖拉机） 装配工", "汽车(拖拉机)装配工", 2, 2
		}, want: pipeline.Eligible, amount: "1000"},
		{name: "LEVEL_MISMATCH", edit: func(r *pipeline.Registration, c *pipeline.Certificate) { c.Level = 2 },
			want: pipeline.LevelMismatch},
		{name: "ISSUE_DATE_MISMATCH", edit: func(r *pipeline.Registration, c *pipeline.Certificate) { c.IssueDate = pipeline.MustDate("2013-11-06") },
			want: pipeline.IssueDateMismatch},
		{name: "AUTHORITY_NOT_ELIGIBLE", edit: func(r *pipeline.Registration, c *pipeline.Certificate) { c.AuthorityCode = "120101001" },
			want: pipeline.AuthorityNotEligible},
		{name: "OCCUPATION_NOT_IN_CATALOG", edit: func(r *pipeline.Registration, c *pipeline.Certificate) {
			r.Occupation, c.Occupation = "茶艺师", "茶艺师"
		},
			want: pipeline.OccupationNotInCatalog},
		{name: "LEVEL_NOT_COVERED level 1 of a level-2 occupation", edit: func(r *pipeline.Registration, c *pipeline.Certificate) {
			r.Occupation, c.Occupation = "电子计算机维修工", "电子计算机维修工"
		}, want: pipeline.LevelNotCovered},
		{name: "LEVEL_NOT_COVERED level 3", edit: func(r *pipeline.Registration, c *pipeline.Certificate) { r.Level, c.Level = 3, 3 },
			want: pipeline.LevelNotCovered},
		{name: "ISSUED_BEFORE_START 2013-09-30", edit: func(r *pipeline.Registration, c *pipeline.Certificate) {
			r.IssueDate, c.IssueDate = pipeline.MustDate("2013-09-30"), pipeline.MustDate("2013-09-30")
		}, want: pipeline.IssuedBeforeStart},
		{name: "issued 2013-10-01 counts", edit: func(r *pipeline.Registration, c *pipeline.Certificate) {
			r.IssueDate, c.IssueDate = pipeline.MustDate("2013/10/1"), pipeline.MustDate("2013-10-01")
		}, want: pipeline.Eligible, amount: "2000"},
		{name: "issued 2013-10-31, submitted 2014-04-30 23:59:59", edit: func(r *pipeline.Registration, c *pipeline.Certificate) {
			r.IssueDate, c.IssueDate = pipeline.MustDate("2013-10-31"), pipeline.MustDate("2013-10-31")
			r.SubmittedAt = mustTime(t, "2014-04-30 23:59:59")
		}, want: pipeline.Eligible, amount: "2000"},
		{name: "REGISTERED_TOO_LATE 2014-05-01 00:00:00", edit: func(r *pipeline.Registration, c *pipeline.Certificate) {
			r.IssueDate, c.IssueDate = pipeline.MustDate("2013-10-31"), pipeline.MustDate("2013-10-31")
			r.SubmittedAt = mustTime(t, "2014-05-01 00:00:00")
		}, want: pipeline.RegisteredTooLate},
		{name: "INVALID_NAME carriage return", edit: func(r *pipeline.Registration, c *pipeline.Certificate) { r.Name, c.Name = "王\r芳", "王\r芳" },
			want: pipeline.InvalidName},
		{name: "full-width authority code", edit: func(r *pipeline.Registration, c *pipeline.Certificate) { c.AuthorityCode = "１１0105001" },
			want: pipeline.Eligible, amount: "2000"},
		{name: "the feed's level is judged, not the registration's", edit: func(r *pipeline.Registration, c *pipeline.Certificate) { c.Level = 3 },
			want: pipeline.LevelMismatch, reasons: []pipeline.Status{pipeline.LevelMismatch, pipeline.LevelNotCovered}, level: 3},
		{name: "the feed's occupation is judged, not the registration's", edit: func(r *pipeline.Registration, c *pipeline.Certificate) { c.Occupation = "茶艺师" },
			want: pipeline.OccupationMismatch, reasons: []pipeline.Status{pipeline.OccupationMismatch, pipeline.OccupationNotInCatalog}},
		{name: "the feed's issue date is judged, not the registration's", edit: func(r *pipeline.Registration, c *pipeline.Certificate) {
			c.IssueDate = pipeline.MustDate("2013-09-30")
		}, want: pipeline.IssueDateMismatch, reasons: []pipeline.Status{pipeline.IssueDateMismatch, pipeline.IssuedBeforeStart}},
		{name: "outside the catalog at a level not paid", edit: func(r *pipeline.Registration, c *pipeline.Certificate) {
			r.Occupation, c.Occupation, r.Level, c.Level = "茶艺师", "茶艺师", 3, 3
		}, want: pipeline.OccupationNotInCatalog, reasons: []pipeline.Status{pipeline.OccupationNotInCatalog, pipeline.LevelNotCovered}, level: 3},
		{name: "no certificate: the registration's level", edit: func(r *pipeline.Registration, c *pipeline.Certificate) { r.Level = 2 }, noCert: true,
			want: pipeline.PendingCertificate, level: 2},
		{name: "every failing check is kept", edit: func(r *pipeline.Registration, c *pipeline.Certificate) {
			r.CardNumber = "1"
			r.Verification = pipeline.VerificationPending
			c.Name = "别人"
			c.IssueDate = pipeline.MustDate("2013-09-01")
		}, want: pipeline.InvalidCardNumber, reasons: []pipeline.Status{pipeline.InvalidCardNumber, pipeline.PendingVerification,
			pipeline.NameMismatch, pipeline.IssueDateMismatch, pipeline.IssuedBeforeStart}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, c := validPair(t)
			tt.edit(&r, &c)
			cert := &c
			if tt.noCert {
				cert = nil
			}
			d := p.Evaluate(&r, cert)
			if d.Status != tt.want {
				t.Fatalf("status = %s, want %s (findings %+v)", d.Status, tt.want, d.Findings)
			}
			want := tt.reasons
			if want == nil && tt.want != pipeline.Eligible {
				want = []pipeline.Status{tt.want}
			}
			if got := codes(d); !slices.Equal(got, want) {
				t.Errorf("reasons = %v, want %v", got, want)
			}
			if tt.amount != "" && d.Amount.StringFixed(2) != tt.amount+".00" {
				t.Errorf("amount = %s, want %s", d.Amount.StringFixed(2), tt.amount)
			}
			if tt.level != 0 && d.Level != tt.level {
				t.Errorf("level = %d, want %d", d.Level, tt.level)
			}
			if tt.amount == "" && !d.Amount.IsZero() {
				t.Errorf("amount = %s for a registration that is not eligible", d.Amount)
			}
		})
	}
}

func TestEvaluateFindingValues(t *testing.T) {
	p := mustProgramme(t)
	r, c := validPair(t)
	c.Name = "王芬"
	d := p.Evaluate(&r, &c)
	want := pipeline.Finding{Code: pipeline.NameMismatch, Field: "name", Registered: "王芳", Feed: "王芬"}
	if len(d.Findings) != 1 || d.Findings[0] != want {
		t.Fatalf("findings = %+v, want %+v", d.Findings, want)
	}
}

func TestPeriodEnd(t *testing.T) {
	for _, tt := range []struct{ issued, want string }{
		{"2013-10-31", "2014-04-30 23:59:59"},
		{"2013-10-01", "2014-04-01 23:59:59"},
		{"2013-08-31", "2014-02-28 23:59:59"},
		{"2015-08-31", "2016-02-29 23:59:59"}, // leap year
		{"2013-12-15", "2014-06-15 23:59:59"},
		{"2013-09-30", "2014-03-30 23:59:59"},
	} {
		if got := pipeline.FormatTime(pipeline.PeriodEnd(pipeline.MustDate(tt.issued), 6)); got != tt.want {
			t.Errorf("PeriodEnd(%s, 6) = %s, want %s", tt.issued, got, tt.want)
		}
	}
}

func TestProgramme2013(t *testing.T) {
	p := mustProgramme(t)
	levels := map[int]int{}
	for _, e := range p.Catalog {
		levels[e.Level]++
	}
	if len(p.Catalog) != 200 || levels[1] != 153 || levels[2] != 47 {
		t.Fatalf("catalog: %d entries, %v by level; want 200, 153 at level 1, 47 at level 2", len(p.Catalog), levels)
	}
	if l, ok := p.CatalogLevel(pipeline.NormalizeOccupation("汽车（拖拉机）装配工")); !ok || l != 2 {
		t.Errorf("汽车（拖拉机）装配工: level %d, %v; want 2", l, ok)
	}
	if p.Covers("电子计算机维修工", 1) || !p.Covers("电子计算机维修工", 2) || !p.Covers("半导体芯片制造工", 1) {
		t.Error("level rule: a level-2 occupation pays level 2 only, a level-1 occupation pays 1 and 2")
	}
	if a, _ := p.Amount(1); a.StringFixed(2) != "2000.00" {
		t.Errorf("level 1 amount = %s", a)
	}
	// §4.1: the payment file's memo is the programme's; 2013's is fixed there.
	if p.Memo != "职业发展助推计划资助" {
		t.Errorf("memo = %q, want 职业发展助推计划资助 (§4.1)", p.Memo)
	}
	if _, ok := p.Budget(); ok {
		t.Error("the 2013 programme has no budget")
	}
}

func TestParseProgrammeErrors(t *testing.T) {
	const head = "code = \"x\"\nstart_date = \"2013-10-01\"\nregistration_months = 6\nauthority_prefix = \"11\"\n"
	const catalog = "[[catalog]]\noccupation = \"a\"\nlevel = 1\n"
	for name, c := range map[string]struct{ src, want string }{
		"ErrUnknownKey":   {"code = \"x\"\nbogus = 1\n", `unknown key "bogus"`},
		"ErrNoCatalog":    {head + "memo = \"m\"\n[amounts]\n1 = \"10.00\"\n", "catalog is empty"},
		"ErrBadAmount":    {head + "memo = \"m\"\n[amounts]\n1 = \"10.001\"\n" + catalog, `amounts.1: "10.001" is not a positive amount`},
		"ErrLevelNoMoney": {head + "memo = \"m\"\n[amounts]\n2 = \"10.00\"\n" + catalog, "level 1 has no amount"},
		"ErrNoAuthority":  {strings.Replace(head, "authority_prefix = \"11\"\n", "", 1) + "memo = \"m\"\n[amounts]\n1 = \"10.00\"\n" + catalog, "authority_prefix is required"},
		"ErrMemoBar":      {head + "memo = \"资助|2013\"\n[amounts]\n1 = \"10.00\"\n" + catalog, "memo holds '|' or a control character"},
		"ErrMemoNewline":  {head + "memo = \"资助\\r\\n\"\n[amounts]\n1 = \"10.00\"\n" + catalog, "memo holds '|' or a control character"},
		"ErrMemoTab":      {head + "memo = \"资助\\t2013\"\n[amounts]\n1 = \"10.00\"\n" + catalog, "memo holds '|' or a control character"},
		"ErrMonthsZero": {strings.Replace(head, "registration_months = 6", "registration_months = 0", 1) + "memo = \"m\"\n[amounts]\n1 = \"10.00\"\n" + catalog,
			"registration_months must be positive"},
		"ErrLevelZero":   {head + "memo = \"m\"\n[amounts]\n0 = \"10.00\"\n1 = \"10.00\"\n" + catalog, `amounts: "0" is not a level 1-5`},
		"ErrLevelSix":    {head + "memo = \"m\"\n[amounts]\n1 = \"10.00\"\n6 = \"10.00\"\n" + catalog, `amounts: "6" is not a level 1-5`},
		"ErrZeroAmount":  {head + "memo = \"m\"\n[amounts]\n1 = \"0.00\"\n" + catalog, `amounts.1: "0.00" is not a positive amount`},
		"ErrMinusBudget": {head + "memo = \"m\"\nbudget = \"-1\"\n[amounts]\n1 = \"10.00\"\n" + catalog, `budget: "-1" is not an amount in yuan`},
		"ErrNoOccupation": {head + "memo = \"m\"\n[amounts]\n1 = \"10.00\"\n[[catalog]]\noccupation = \"\u3000\"\nlevel = 1\n",
			"catalog entry 1: occupation is empty"},
		"ErrListedTwice": {head + "memo = \"m\"\n[amounts]\n2 = \"10.00\"\n[[catalog]]\noccupation = \"汽车（拖拉机）装配工\"\nlevel = 2\n" +
			"[[catalog]]\noccupation = \"汽车(拖拉机) 装配工\"\nlevel = 2\n", "catalog entry 2: 汽车(拖拉机) 装配工 is listed twice"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := pipeline.ParseProgramme([]byte(c.src)); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one saying %q", err, c.want)
			}
		})
	}
	// The bounds themselves are levels: 1 and 5 each take an amount.
	p, err := pipeline.ParseProgramme([]byte(head + "memo = \"m\"\n[amounts]\n1 = \"10.00\"\n5 = \"30.00\"\n" + catalog))
	if err != nil {
		t.Fatalf("amounts for levels 1 and 5: %v", err)
	}
	if a, ok := p.Amount(5); !ok || a.StringFixed(2) != "30.00" {
		t.Fatalf("level 5's amount: %v %v", a, ok)
	}
}
