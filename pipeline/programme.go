package pipeline

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	"github.com/BurntSushi/toml"
	"github.com/shopspring/decimal"
)

// Programme is one year's subsidy programme as data: its dates, period,
// amounts, catalog, level rule, authority prefix and optional budget. A later
// year is a new programme file, not new code. A Programme is read-only once
// parsed and safe for concurrent use.
type Programme struct {
	Code string `toml:"code"`
	Name string `toml:"name"`
	// StartDate is the first issue date paid ("after 2013-10-01" includes it).
	StartDate Date `toml:"start_date"`
	// RegistrationMonths is the period after the issue date within which a
	// member must register (Civil Code counting, see PeriodEnd).
	RegistrationMonths int `toml:"registration_months"`
	// AuthorityPrefix is the start of the code of every eligible appraisal body.
	AuthorityPrefix string `toml:"authority_prefix"`
	// Memo goes on every line of the payment file.
	Memo string `toml:"memo"`
	// Amounts maps a paid level ("1", "2") to its amount in yuan.
	Amounts map[string]string `toml:"amounts"`
	// Budget, when not empty, caps the total of all batches (yuan).
	BudgetYuan string         `toml:"budget"`
	Catalog    []CatalogEntry `toml:"catalog"`

	amounts map[int]decimal.Decimal
	budget  decimal.NullDecimal
	catalog map[string]int
	source  []byte
}

// CatalogEntry is one occupation of the programme's catalog. Level is the
// highest level paid for it: an occupation listed at level 1 pays levels 1
// and 2, one listed at level 2 pays level 2 only.
type CatalogEntry struct {
	Seq        int    `toml:"seq"`
	Occupation string `toml:"occupation"`
	Level      int    `toml:"level"`
}

// ParseProgramme reads and checks a programme file (TOML). The error names
// what is wrong.
func ParseProgramme(src []byte) (*Programme, error) {
	var p Programme
	md, err := toml.NewDecoder(bytes.NewReader(src)).Decode(&p)
	if err != nil {
		return nil, fmt.Errorf("programme: %w", err)
	}
	if u := md.Undecoded(); len(u) > 0 {
		return nil, fmt.Errorf("programme: unknown key %q", u[0].String())
	}
	if err := p.init(); err != nil {
		return nil, fmt.Errorf("programme %q: %w", p.Code, err)
	}
	p.source = append([]byte(nil), src...)
	return &p, nil
}

func (p *Programme) init() error {
	switch {
	case p.Code == "":
		return errors.New("code is required")
	case p.StartDate.IsZero():
		return errors.New("start_date is required")
	case p.RegistrationMonths <= 0:
		return errors.New("registration_months must be positive")
	case p.AuthorityPrefix == "":
		// Empty, every appraisal body would pass rule 13.
		return errors.New("authority_prefix is required (the start of every eligible appraisal body's code)")
	case p.Memo == "":
		return errors.New("memo is required")
	case !BankField(p.Memo):
		return errors.New("memo holds '|' or a control character (a line break, say): it goes on every line of the payment file")
	case len(p.Amounts) == 0:
		return errors.New("amounts are required")
	case len(p.Catalog) == 0:
		return errors.New("catalog is empty")
	}
	p.amounts = make(map[int]decimal.Decimal, len(p.Amounts))
	for k, v := range p.Amounts {
		level, err := strconv.Atoi(k)
		if err != nil || level < 1 || level > 5 {
			return fmt.Errorf("amounts: %q is not a level 1-5", k)
		}
		amount, err := ParseAmount(v)
		if err != nil || !amount.IsPositive() {
			return fmt.Errorf("amounts.%s: %q is not a positive amount in yuan", k, v)
		}
		p.amounts[level] = amount
	}
	if p.BudgetYuan != "" {
		b, err := ParseAmount(p.BudgetYuan)
		if err != nil || b.IsNegative() {
			return fmt.Errorf("budget: %q is not an amount in yuan", p.BudgetYuan)
		}
		p.budget = decimal.NullDecimal{Decimal: b, Valid: true}
	}
	p.catalog = make(map[string]int, len(p.Catalog))
	for i, e := range p.Catalog {
		occ := NormalizeOccupation(e.Occupation)
		if occ == "" {
			return fmt.Errorf("catalog entry %d: occupation is empty", i+1)
		}
		if _, ok := p.amounts[e.Level]; !ok {
			return fmt.Errorf("catalog entry %d (%s): level %d has no amount", i+1, e.Occupation, e.Level)
		}
		if _, dup := p.catalog[occ]; dup {
			return fmt.Errorf("catalog entry %d: %s is listed twice", i+1, e.Occupation)
		}
		p.catalog[occ] = e.Level
	}
	return nil
}

// Source returns the programme file the programme was parsed from.
func (p *Programme) Source() []byte { return p.source }

// Amount returns the subsidy for a level, and false for a level not paid.
func (p *Programme) Amount(level int) (decimal.Decimal, bool) {
	a, ok := p.amounts[level]
	return a, ok
}

// Budget returns the cap on the total of all batches, if one is set.
func (p *Programme) Budget() (decimal.Decimal, bool) { return p.budget.Decimal, p.budget.Valid }

// CatalogLevel returns the highest level paid for a (normalised) occupation,
// and false when the occupation is not in the catalog.
func (p *Programme) CatalogLevel(occupation string) (int, bool) {
	l, ok := p.catalog[occupation]
	return l, ok
}

// Covers reports whether the programme pays a level for a (normalised)
// occupation: the level has an amount and is not higher (numerically smaller)
// than the catalog's level for the occupation. An occupation outside the
// catalog covers no level.
func (p *Programme) Covers(occupation string, level int) bool {
	if _, paid := p.amounts[level]; !paid {
		return false
	}
	top, ok := p.catalog[occupation]
	return ok && level >= top
}
