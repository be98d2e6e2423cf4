package main

import (
	"fmt"
	"strings"

	"zhutui/pipeline"
)

// floorScript is the bare floor's sqlite3 script: it imports the first
// night's files (in data) and the programme's catalog (a CSV file) into bare
// tables, normalises the certificates and the catalog into tables of their own
// (so that the joins find them by SQLite's automatic indexes) and decides
// every registration in one statement, with the checks of
// rules 1 to 19 of INTERFACES.md §3 in their order: the ID number's length,
// birth date and check character, the card number's digits and Luhn sum, the
// name, the station's check, the certificate's presence, state and fields, the
// catalog and its levels, the start date, the six-month period, and first come
// per certificate and per person and level. It then counts the registrations
// by status. Normalisation is the part of §3 that SQL does cheaply (trim, the
// Chinese spellings of level, verification and state, '/' in dates, no spaces
// and half-width brackets in occupations, upper case in ID and certificate
// numbers); zhutui does all of it. Versions are not compared: the generated
// files hold one version of each row. The registrations' normalised fields
// and their statuses are MATERIALIZED: left inline, every check recomputed
// them (the statement took 0.64 s at 20,000 rows instead of 0.31 s).
func floorScript(data, catalog string, p *pipeline.Programme) string {
	return fmt.Sprintf(`.mode csv
.import %[1]s/registrations.csv regs
.import %[1]s/certificates.csv certs
.import %[2]s catalog
CREATE TABLE c AS
  SELECT %[3]s AS cert_key, upper(trim(id_number)) AS id, trim(name) AS name, %[4]s AS occupation,
    trim(level) AS level, replace(trim(issue_date), '/', '-') AS issue_date, trim(authority_code) AS authority_code,
    CASE trim(status) WHEN '撤销' THEN 'revoked' WHEN '有效' THEN 'valid' ELSE trim(status) END AS status
  FROM certs;
CREATE TABLE k AS SELECT %[4]s AS occupation, CAST(level AS INTEGER) AS level FROM catalog;
CREATE TABLE decided AS
WITH r AS MATERIALIZED (
  SELECT registration_id, replace(trim(submitted_at), '/', '-') AS submitted_at, upper(trim(id_number)) AS id,
    replace(replace(trim(card_number), ' ', ''), '-', '') AS card, trim(name) AS name,
    %[3]s AS cert_key, %[4]s AS occupation,
    CASE trim(level) WHEN '一级' THEN '1' WHEN '二级' THEN '2' ELSE trim(level) END AS level,
    replace(trim(issue_date), '/', '-') AS issue_date,
    CASE trim(verification) WHEN '通过' THEN 'passed' WHEN '不通过' THEN 'rejected' WHEN '待核对' THEN 'pending'
      ELSE trim(verification) END AS verification
  FROM regs),
base AS MATERIALIZED (
  SELECT r.registration_id, r.submitted_at, r.cert_key, r.id, r.level,
    CASE WHEN NOT (%[5]s) THEN 'INVALID_ID_NUMBER'
         WHEN NOT (%[6]s) THEN 'INVALID_CARD_NUMBER'
         WHEN r.name = '' OR instr(r.name, '|') OR r.name GLOB '*[' || char(1) || '-' || char(31) || char(127) || '-' || char(159) ||
           char(8232) || char(8233) || ']*' THEN 'INVALID_NAME'
         WHEN r.verification = 'rejected' THEN 'STATION_REJECTED'
         WHEN r.verification != 'passed' THEN 'PENDING_VERIFICATION'
         WHEN c.cert_key IS NULL THEN 'PENDING_CERTIFICATE'
         WHEN c.status = 'revoked' THEN 'CERT_REVOKED'
         WHEN c.id != r.id THEN 'ID_MISMATCH'
         WHEN c.name != r.name THEN 'NAME_MISMATCH'
         WHEN c.occupation != r.occupation THEN 'OCCUPATION_MISMATCH'
         WHEN c.level != r.level THEN 'LEVEL_MISMATCH'
         WHEN c.issue_date != r.issue_date THEN 'ISSUE_DATE_MISMATCH'
         WHEN c.authority_code NOT LIKE '%[7]s%%' THEN 'AUTHORITY_NOT_ELIGIBLE'
         WHEN k.occupation IS NULL THEN 'OCCUPATION_NOT_IN_CATALOG'
         WHEN c.level NOT IN ('1', '2') OR CAST(c.level AS INTEGER) < k.level THEN 'LEVEL_NOT_COVERED'
         WHEN c.issue_date < '%[8]s' THEN 'ISSUED_BEFORE_START'
         WHEN r.submitted_at > CASE WHEN strftime('%%d', c.issue_date, '+%[9]d months') = substr(c.issue_date, 9, 2)
                                    THEN date(c.issue_date, '+%[9]d months')
                                    ELSE date(c.issue_date, 'start of month', '+%[10]d months', '-1 day') END || ' 23:59:59'
              THEN 'REGISTERED_TOO_LATE'
         ELSE 'ELIGIBLE' END AS status
  FROM r LEFT JOIN c ON c.cert_key = r.cert_key LEFT JOIN k ON k.occupation = c.occupation),
firstcert AS (
  SELECT *, CASE WHEN status = 'ELIGIBLE' AND row_number() OVER (PARTITION BY cert_key, status
              ORDER BY submitted_at, registration_id) > 1 THEN 'DUPLICATE_CERTIFICATE' ELSE status END AS s
  FROM base)
SELECT registration_id, CASE WHEN s = 'ELIGIBLE' AND row_number() OVER (PARTITION BY id, level, s
              ORDER BY submitted_at, registration_id) > 1 THEN 'PERSON_LEVEL_LIMIT' ELSE s END AS status
FROM firstcert;
SELECT status, count(*) FROM decided GROUP BY status ORDER BY status;
`, data, catalog,
		`upper(replace(trim(certificate_number), ' ', ''))`,
		`replace(replace(replace(trim(occupation), ' ', ''), '（', '('), '）', ')')`,
		validIDNumber("r.id"), validCardNumber("r.card"),
		p.AuthorityPrefix, p.StartDate.String(), p.RegistrationMonths, p.RegistrationMonths+1)
}

// validIDNumber is rule 1 in SQL, as pipeline.ValidIDNumber has it: 18
// characters, 17 digits, a birth date that exists (date() gives it back
// unchanged) from 1900 on, and the GB 11643 check character. IS, not =:
// date() gives NULL for a thirteenth month, and NULL would have passed.
func validIDNumber(col string) string {
	birth := fmt.Sprintf("substr(%[1]s, 7, 4) || '-' || substr(%[1]s, 11, 2) || '-' || substr(%[1]s, 13, 2)", col)
	return fmt.Sprintf(`length(%[1]s) = 18 AND substr(%[1]s, 1, 17) NOT GLOB '*[^0-9]*'
                   AND date(%[2]s, '+0 days') IS %[2]s AND substr(%[1]s, 7, 4) >= '1900'
                   AND substr('10X98765432', (%[3]s) %% 11 + 1, 1) = substr(%[1]s, 18, 1)`, col, birth, idCheckSum(col))
}

// validCardNumber is rule 2 in SQL, as pipeline.ValidCardNumber has it: 16
// to 19 digits and the Luhn sum.
func validCardNumber(col string) string {
	return fmt.Sprintf(`length(%[1]s) BETWEEN 16 AND 19 AND %[1]s NOT GLOB '*[^0-9]*'
                   AND (%[2]s) %% 10 = 0`, col, luhnSum(col))
}

// idCheckSum is the SQL for the GB 11643 weighted sum of an ID number's first
// 17 digits.
func idCheckSum(col string) string {
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	terms := make([]string, len(weights))
	for i, w := range weights {
		terms[i] = fmt.Sprintf("substr(%s, %d, 1) * %d", col, i+1, w)
	}
	return strings.Join(terms, " + ")
}

// luhnSum is the SQL for the Luhn sum of a card number of up to 19 digits:
// counted from the right, every second digit doubled, less 9 when over 9 (a
// digit before the number's start is the empty string, which counts 0).
func luhnSum(col string) string {
	terms := make([]string, 19)
	for k := 1; k <= 19; k++ {
		d := fmt.Sprintf("(substr(%s, -%d, 1) + 0)", col, k)
		if k%2 == 0 {
			d = fmt.Sprintf("(2 * %[1]s - 9 * (%[1]s > 4))", d)
		}
		terms[k-1] = d
	}
	return strings.Join(terms, " + ")
}
