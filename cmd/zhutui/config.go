package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"

	"zhutui/connectors/bankfile"
	"zhutui/connectors/report"
	"zhutui/pipeline"
)

// Config is zhutui.toml. Every key has a default; relative paths are taken
// from the folder of the configuration file (or the working folder when there
// is none). No secret belongs here: passwords and keys come from the
// environment or from files named here.
type Config struct {
	Database  string `toml:"database"`
	Programme string `toml:"programme"` // a programme file; empty: the built-in 2013 programme
	Reports   string `toml:"reports"`
	// XLSXMaxRegistrations caps the Registrations sheet of report.xlsx
	// (default 100000); beyond it the sheet points to registrations.csv.
	XLSXMaxRegistrations int64 `toml:"xlsx_max_registrations"`

	Locations struct {
		Registrations string `toml:"registrations"`
		Certificates  string `toml:"certificates"`
		Results       string `toml:"results"`
		Payments      string `toml:"payments"`
		SMS           string `toml:"sms"`
	} `toml:"locations"`

	Bank struct {
		// PayerAccount is the programme's account the bank pays from; it
		// goes into every payment file's header. No default.
		PayerAccount string `toml:"payer_account"`
		// MaxLines caps the lines of one batch (default 10000).
		MaxLines int `toml:"max_lines"`
	} `toml:"bank"`

	Ledger struct {
		// KeyFile holds the ledger's HMAC key when $ZHUTUI_LEDGER_KEY is not
		// set (default: zhutui.ledger.key beside the database).
		KeyFile string `toml:"key_file"`
		// AnchorFile records every file delivered with the ledger's head
		// then, so that a database put back from an older copy is refused
		// (default: beside the database, NAME.ledger.anchor for NAME.db).
		AnchorFile string `toml:"anchor_file"`
	} `toml:"ledger"`

	SSH struct {
		// KeyFile is the private key zhutui logs in to SFTP servers with.
		KeyFile string `toml:"key_file"`
		// KnownHosts holds the host keys of the SFTP servers; a server whose
		// key is not there is refused.
		KnownHosts string `toml:"known_hosts"`
		// TimeoutSeconds bounds dialing and each operation (default 30).
		TimeoutSeconds int `toml:"timeout_seconds"`
		// Retries after a transient network error (default 3; 0 for none).
		Retries *int `toml:"retries"`
	} `toml:"ssh"`

	Schedule struct {
		// Cron is when the nightly run starts: five fields, or six with
		// seconds first (default "30 2 * * *").
		Cron string `toml:"cron"`
		// TimeZone the cron expressions are read in (default Asia/Shanghai).
		TimeZone string `toml:"time_zone"`
		// VerifyCron is when the daemon verifies the whole ledger, as
		// zhutui ledger verify does (default "0 4 * * 0", Sundays 04:00;
		// "off" for never). A night verifies only its new entries.
		VerifyCron string `toml:"verify_cron"`
	} `toml:"schedule"`

	Backup struct {
		// Folder is where zhutui daemon copies the database after each
		// nightly run, and zhutui backup with no FILE (default "": none).
		Folder string `toml:"folder"`
		// Keep is how many of the newest copies stay in Folder (default 7);
		// older ones, by zhutui's own names only, are removed.
		Keep int `toml:"keep"`
	} `toml:"backup"`

	SMSTemplates struct {
		// Paid and Returned are the texts sent when a payment is settled or
		// returned; they may use {name}, {amount}, {card_last4},
		// {payment_ref} and {bank_message}.
		Paid     string `toml:"paid"`
		Returned string `toml:"returned"`
	} `toml:"sms_templates"`

	Approval struct {
		// Required makes every batch wait for a person other than its
		// creator to approve it before it is delivered (default true).
		Required *bool `toml:"required"`
	} `toml:"approval"`

	base string // folder relative paths are taken from
}

// configError is a usage or configuration problem: exit status 2.
type configError struct{ err error }

func (e configError) Error() string { return e.err.Error() }
func (e configError) Unwrap() error { return e.err }

func configErrorf(format string, args ...any) error {
	return configError{fmt.Errorf(format, args...)}
}

// loadConfig reads the configuration file at path. A missing file is no
// error when it was not named explicitly: the defaults apply.
func loadConfig(path string, explicit bool) (*Config, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, configErrorf("config %q: %v", path, err)
	}
	c := &Config{base: filepath.Dir(abs)}
	md, err := toml.DecodeFile(abs, c)
	switch {
	case errors.Is(err, os.ErrNotExist) && !explicit:
	case err != nil:
		return nil, configErrorf("config %s: %v", abs, err)
	default:
		if u := md.Undecoded(); len(u) > 0 {
			return nil, configErrorf("config %s: unknown key %q", abs, u[0].String())
		}
	}
	return c, c.defaults()
}

func (c *Config) defaults() error {
	def := func(v *string, d string) {
		if strings.TrimSpace(*v) == "" {
			*v = d
		}
	}
	def(&c.Database, "zhutui.db")
	def(&c.Reports, "reports")
	def(&c.Locations.Registrations, "inbox/registrations")
	def(&c.Locations.Certificates, "inbox/certificates")
	def(&c.Locations.Results, "inbox/results")
	def(&c.Locations.Payments, "outbox/payments")
	def(&c.Locations.SMS, "outbox/sms")
	if c.Bank.MaxLines == 0 {
		c.Bank.MaxLines = 10000
	}
	if a := c.Bank.PayerAccount; strings.Trim(a, "0123456789") != "" {
		return configErrorf("[bank] payer_account %q: only the digits 0-9 (it goes into the payment file's header as it is)", a)
	}
	if c.Bank.MaxLines < 0 || c.Bank.MaxLines > bankfile.MaxLines {
		return configErrorf("[bank] max_lines must be from 1 to %d (a payment file numbers its lines with six digits)", bankfile.MaxLines)
	}
	if c.XLSXMaxRegistrations < 0 || c.XLSXMaxRegistrations > report.MaxXLSXRegistrations {
		return configErrorf("xlsx_max_registrations must be from 1 to %d (a sheet's rows, less its header), or 0 for %d",
			report.MaxXLSXRegistrations, report.DefaultXLSXMaxRegistrations)
	}
	if c.SSH.Retries != nil && *c.SSH.Retries < 0 {
		return configErrorf("[ssh] retries must be 0 (no retry) or more")
	}
	if c.SSH.TimeoutSeconds < 0 {
		return configErrorf("[ssh] timeout_seconds must be 1 or more, or 0 for 30")
	}
	if c.Schedule.Cron == "" {
		c.Schedule.Cron = "30 2 * * *"
	}
	if c.Schedule.VerifyCron == "" {
		c.Schedule.VerifyCron = "0 4 * * 0"
	}
	if c.Schedule.TimeZone == "" {
		c.Schedule.TimeZone = "Asia/Shanghai"
	}
	if c.Backup.Keep < 0 {
		return configErrorf("[backup] keep must be 1 or more, or 0 for 7")
	}
	if c.Backup.Keep == 0 {
		c.Backup.Keep = 7
	}
	if c.SMSTemplates.Paid == "" {
		c.SMSTemplates.Paid = pipeline.DefaultSMSTemplates.Paid
	}
	if c.SMSTemplates.Returned == "" {
		c.SMSTemplates.Returned = pipeline.DefaultSMSTemplates.Returned
	}
	if err := (pipeline.SMSTemplates{Paid: c.SMSTemplates.Paid, Returned: c.SMSTemplates.Returned}).Check(); err != nil {
		return configErrorf("[sms_templates] %v", err)
	}
	if c.Approval.Required == nil {
		yes := true
		c.Approval.Required = &yes
	}
	c.Database = c.path(c.Database)
	if c.SSH.KeyFile != "" {
		c.SSH.KeyFile = c.path(c.SSH.KeyFile)
	}
	if c.SSH.KnownHosts != "" {
		c.SSH.KnownHosts = c.path(c.SSH.KnownHosts)
	}
	if c.Ledger.KeyFile == "" {
		c.Ledger.KeyFile = filepath.Join(filepath.Dir(c.Database), "zhutui.ledger.key")
	} else {
		c.Ledger.KeyFile = c.path(c.Ledger.KeyFile)
	}
	if c.Ledger.AnchorFile == "" {
		// Named after the database, so that two in one folder keep two
		// (zhutui.db: zhutui.ledger.anchor), and not matched by zhutui.db*.
		c.Ledger.AnchorFile = filepath.Join(filepath.Dir(c.Database), databaseName(c.Database)+".ledger.anchor")
	} else {
		c.Ledger.AnchorFile = c.path(c.Ledger.AnchorFile)
	}
	c.Reports = c.path(c.Reports)
	if strings.TrimSpace(c.Backup.Folder) == "" {
		c.Backup.Folder = ""
	} else {
		c.Backup.Folder = c.path(c.Backup.Folder)
	}
	if c.Programme != "" {
		c.Programme = c.path(c.Programme)
	}
	for _, l := range []*string{&c.Locations.Registrations, &c.Locations.Certificates, &c.Locations.Results,
		&c.Locations.Payments, &c.Locations.SMS} {
		if !strings.Contains(*l, "://") {
			*l = (&url.URL{Scheme: "file", Path: c.path(*l)}).String()
		}
	}
	// A night takes every *.csv of the registrations' folder as registrations
	// and of the certificates' as certificates, and SMS files are *.csv too:
	// two of these in one folder would each take the other's files, to be
	// quarantined as the wrong kind. And each folder is one party's: the
	// payment files, with full card numbers, are the bank's alone (its
	// result files may come back in the same folder), the SMS files, with
	// mobiles, the SMS platform's.
	folders := []struct {
		key, url string
		csv      bool
	}{{"registrations", c.Locations.Registrations, true}, {"certificates", c.Locations.Certificates, true},
		{"payments", c.Locations.Payments, false}, {"results", c.Locations.Results, false}, {"sms", c.Locations.SMS, true}}
	for i, a := range folders {
		for _, b := range folders[i+1:] {
			if folderKey(a.url) != folderKey(b.url) || a.key == "payments" && b.key == "results" {
				continue
			}
			if a.csv && b.csv {
				return configErrorf("[locations] %s and %s are the same folder (%s): each kind of *.csv file needs a folder of its own",
					a.key, b.key, a.url)
			}
			return configErrorf("[locations] %s and %s are the same folder (%s): each party needs a folder of its own "+
				"(the payment files carry full card numbers, for the bank alone; only payments and results may share the bank's folder)",
				a.key, b.key, a.url)
		}
	}
	// A copy of the database holds every member's ID and card number in
	// full: not in a folder another party takes files from, nor among the
	// reports finance staff read.
	if b := c.Backup.Folder; b != "" {
		for _, f := range []struct{ key, path string }{{"key_file", c.Ledger.KeyFile}, {"anchor_file", c.Ledger.AnchorFile}} {
			if inside(b, f.path) {
				return configErrorf("[backup] folder %s is where the [ledger] %s is (%s): the copies are kept apart from it, "+
					"so that whoever has them has neither the key to forge the ledger nor the anchor that refuses an old copy put back; "+
					"give the copies a folder of their own", b, f.key, f.path)
			}
		}
		if inside(c.Reports, b) {
			return configErrorf("[backup] folder %s is in the reports' folder %s: the copies hold every member's ID and card "+
				"number in full, and the reports are read by finance staff; give the copies a folder of their own", b, c.Reports)
		}
		for _, f := range folders {
			if u, err := url.Parse(f.url); err == nil && u.Scheme == "file" && inside(u.Path, b) {
				return configErrorf("[backup] folder %s is in the %s folder %s: the copies hold every member's ID and card "+
					"number in full; give them a folder of their own", b, f.key, u.Path)
			}
		}
	}
	return nil
}

// folderKey is a location's URL as the check of one folder per party
// compares it: the host's name in lower case, SFTP's default port written
// out and the path cleaned, so that sftp://u@H/in/ and sftp://u@h:22/in are
// one folder. The user stays: a server may give each user a folder of its
// own under the same path. (Two paths through a link are still two.)
func folderKey(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" && u.Scheme == "sftp" {
		port = "22"
	}
	if port != "" {
		host = net.JoinHostPort(host, port)
	}
	return u.Scheme + "://" + u.User.Username() + "@" + host + path.Clean("/"+u.Path)
}

// databaseName is the database file's name without its extension (zhutui
// for zhutui.db): the files named after the database start with it.
func databaseName(path string) string {
	return strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
}

// inside says whether path is dir or in it, by their names.
func inside(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// sshRetries is [ssh] retries as sftp.Options takes it: 0 for the default
// (3), below 0 for none.
func (c *Config) sshRetries() int {
	switch {
	case c.SSH.Retries == nil:
		return 0
	case *c.SSH.Retries == 0:
		return -1
	default:
		return *c.SSH.Retries
	}
}

// path makes a configured path absolute.
func (c *Config) path(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.base, p)
}

// defaultConfig is what `zhutui init` writes when there is no configuration
// file yet: every key with its default, commented.
const defaultConfig = `# zhutui configuration. Every key has a default; relative paths are taken from
# this file's folder. Secrets never go here: the ledger key comes from
# $ZHUTUI_LEDGER_KEY or a key file, an SFTP password from $ZHUTUI_SFTP_PASSWORD.

# database = "zhutui.db"
# programme = ""            # a programme file; empty means the built-in 2013 programme
# reports = "reports"
# xlsx_max_registrations = 100000   # more registrations than this: report.xlsx points to registrations.csv and exceptions.csv
#                                   # (at most 1048575; writing the workbook takes about 0.8 KB of memory per registration)

[bank]
# payer_account = ""        # the programme's account the bank pays from: required before batches are made
# max_lines = 10000         # lines per batch at most (up to 999999: six-digit line numbers)

[approval]
# required = true           # a batch is delivered only after someone other than its creator approves it

[ledger]
# key_file = "zhutui.ledger.key"   # the ledger's HMAC key, when $ZHUTUI_LEDGER_KEY is not set; keep it outside backups of the database
# anchor_file = "zhutui.ledger.anchor"  # (for zhutui.db) every file delivered, with the ledger's head then: a database put back from an older copy is refused; keep it outside backups of the database

[ssh]
# key_file = ""             # private key for sftp:// locations
# known_hosts = ""          # the servers' host keys; a server not in it is refused
# timeout_seconds = 30
# retries = 3               # after a network error; 0: none. A password, if a server needs one, comes from $ZHUTUI_SFTP_PASSWORD only

[schedule]
# cron = "30 2 * * *"       # zhutui daemon's nightly run (five fields, or six with seconds first)
# time_zone = "Asia/Shanghai"
# verify_cron = "0 4 * * 0"  # zhutui daemon verifies the whole ledger, as zhutui ledger verify does ("off": never)

[backup]
# folder = ""               # zhutui daemon copies the database here after each nightly run, and zhutui backup with no FILE ("": none);
#                           # the copies hold every ID and card number in full: a folder of their own, apart from the ledger key
# keep = 7                  # the newest copies kept; older ones (named DATABASE-YYYYMMDD-HHMMSS.db) are removed

[sms_templates]
# paid = "【北京市总工会】{name}您好，您的职业发展助推计划资助{amount}元已划拨至尾号{card_last4}的京卡·互助服务卡。"
# returned = "【北京市总工会】{name}您好，…（{bank_message}），请携带身份证和京卡到区县工会服务站更新卡信息。"

[locations]
# file:///abs/dir or a path; sftp://user@host:port/abs/dir for remote folders
# registrations = "inbox/registrations"
# certificates = "inbox/certificates"
# results = "inbox/results"
# payments = "outbox/payments"
# sms = "outbox/sms"
`
