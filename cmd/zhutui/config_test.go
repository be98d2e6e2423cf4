package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"zhutui/pipeline"
)

// TestConfigDefaults: with no configuration file every key takes its
// default, and each path is taken from the configuration's folder.
func TestConfigDefaults(t *testing.T) {
	dir := t.TempDir()
	c, err := loadConfig(filepath.Join(dir, "zhutui.toml"), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct{ name, got, want string }{
		{"database", c.Database, filepath.Join(dir, "zhutui.db")},
		{"reports", c.Reports, filepath.Join(dir, "reports")},
		{"programme", c.Programme, ""},
		{"ledger key", c.Ledger.KeyFile, filepath.Join(dir, "zhutui.ledger.key")},
		{"anchor", c.Ledger.AnchorFile, filepath.Join(dir, "zhutui.ledger.anchor")},
		{"registrations", c.Locations.Registrations, "file://" + filepath.Join(dir, "inbox/registrations")},
		{"certificates", c.Locations.Certificates, "file://" + filepath.Join(dir, "inbox/certificates")},
		{"results", c.Locations.Results, "file://" + filepath.Join(dir, "inbox/results")},
		{"payments", c.Locations.Payments, "file://" + filepath.Join(dir, "outbox/payments")},
		{"sms", c.Locations.SMS, "file://" + filepath.Join(dir, "outbox/sms")},
		{"cron", c.Schedule.Cron, "30 2 * * *"},
		{"verify cron", c.Schedule.VerifyCron, "0 4 * * 0"},
		{"time zone", c.Schedule.TimeZone, "Asia/Shanghai"},
		{"paid", c.SMSTemplates.Paid, pipeline.DefaultSMSTemplates.Paid},
		{"returned", c.SMSTemplates.Returned, pipeline.DefaultSMSTemplates.Returned},
		{"ssh key", c.SSH.KeyFile, ""},
		{"known hosts", c.SSH.KnownHosts, ""},
		{"payer account", c.Bank.PayerAccount, ""},
	} {
		if f.got != f.want {
			t.Errorf("%s = %q, want %q", f.name, f.got, f.want)
		}
	}
	if c.Backup.Folder != "" || c.Backup.Keep != 7 {
		t.Errorf("[backup] folder %q, keep %d; want none and 7", c.Backup.Folder, c.Backup.Keep)
	}
	if c.Bank.MaxLines != 10000 || c.Approval.Required == nil || !*c.Approval.Required {
		t.Errorf("max_lines %d, approval %v; want 10000 and required", c.Bank.MaxLines, c.Approval.Required)
	}
}

// TestConfigPaths: a relative path is taken from the configuration's folder,
// an absolute one and a URL are kept, a blank value takes the default, and
// the ledger key goes beside a database configured elsewhere.
func TestConfigPaths(t *testing.T) {
	dir := t.TempDir()
	elsewhere := t.TempDir()
	path := filepath.Join(dir, "zhutui.toml")
	text := `database = "` + filepath.Join(elsewhere, "z.db") + `"
reports = "  "
programme = "programmes/2014.toml"
[ssh]
key_file = "keys/id_ed25519"
known_hosts = "keys/known_hosts"
[locations]
registrations = "sftp://zhutui@host:22/export"
payments = "bank/out"
[backup]
folder = "copies"
`
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig(path, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct{ name, got, want string }{
		{"database", c.Database, filepath.Join(elsewhere, "z.db")},
		{"ledger key", c.Ledger.KeyFile, filepath.Join(elsewhere, "zhutui.ledger.key")},
		{"anchor", c.Ledger.AnchorFile, filepath.Join(elsewhere, "z.ledger.anchor")},
		{"reports", c.Reports, filepath.Join(dir, "reports")},
		{"programme", c.Programme, filepath.Join(dir, "programmes/2014.toml")},
		{"ssh key", c.SSH.KeyFile, filepath.Join(dir, "keys/id_ed25519")},
		{"known hosts", c.SSH.KnownHosts, filepath.Join(dir, "keys/known_hosts")},
		{"registrations", c.Locations.Registrations, "sftp://zhutui@host:22/export"},
		{"payments", c.Locations.Payments, "file://" + filepath.Join(dir, "bank/out")},
		{"backup folder", c.Backup.Folder, filepath.Join(dir, "copies")},
	} {
		if f.got != f.want {
			t.Errorf("%s = %q, want %q", f.name, f.got, f.want)
		}
	}
	if err := os.WriteFile(path, []byte("[ledger]\nkey_file = \"secret/ledger.key\"\nanchor_file = \"keep/anchor\"\n[approval]\nrequired = false\n[backup]\nfolder = \"  \"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if c, err = loadConfig(path, true); err != nil {
		t.Fatal(err)
	}
	if c.Backup.Folder != "" {
		t.Errorf("a blank [backup] folder is %q; want none (no copies)", c.Backup.Folder)
	}
	if c.Ledger.KeyFile != filepath.Join(dir, "secret/ledger.key") || c.Ledger.AnchorFile != filepath.Join(dir, "keep/anchor") || *c.Approval.Required {
		t.Errorf("ledger key %q, anchor %q, approval required %v; want %q, %q and false", c.Ledger.KeyFile, c.Ledger.AnchorFile,
			*c.Approval.Required, filepath.Join(dir, "secret/ledger.key"), filepath.Join(dir, "keep/anchor"))
	}
}

// TestConfigRefused: a configuration file named but missing, and a key
// zhutui does not know (a typo would otherwise leave its default in force),
// are errors naming the file and the key.
func TestConfigRefused(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "zhutui.toml")
	if _, err := loadConfig(path, true); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("a named file missing: %v", err)
	}
	if err := os.WriteFile(path, []byte("[bank]\npayer_acount = \"1\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadConfig(path, false); err == nil || !strings.Contains(err.Error(), path+`: unknown key "bank.payer_acount"`) {
		t.Errorf("an unknown key: %v", err)
	}
}

// TestConfigBounds: the bounds of the numbers are their own (the largest
// allowed taken, one more refused), and a payer account of digits only.
func TestConfigBounds(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ text, want string }{
		{"[bank]\nmax_lines = 999999\n", ""},
		{"[bank]\nmax_lines = 1000000\n", "[bank] max_lines must be from 1 to 999999"},
		{"[bank]\nmax_lines = -1\n", "[bank] max_lines must be from 1 to 999999"},
		{"xlsx_max_registrations = 1048575\n", ""},
		{"xlsx_max_registrations = 1048576\n", "xlsx_max_registrations must be from 1 to 1048575"},
		{"xlsx_max_registrations = -1\n", "xlsx_max_registrations must be from 1 to 1048575"},
		{"[bank]\npayer_account = \"0200001009000012345\"\n", ""},
		{"[bank]\npayer_account = \"0200 001009000012345\"\n", `[bank] payer_account "0200 001009000012345": only the digits 0-9`},
		{"[sms_templates]\nreturned = \"{name} {amout}\"\n", "[sms_templates] returned: unknown placeholder {amout}"},
		{"[ssh]\nretries = 0\ntimeout_seconds = 1\n", ""},
		{"[ssh]\nretries = -1\n", "[ssh] retries must be 0 (no retry) or more"},
		{"[ssh]\ntimeout_seconds = -1\n", "[ssh] timeout_seconds must be 1 or more, or 0 for 30"},
		// Folders whose *.csv files are taken (or put) as one kind: each its own.
		{"[locations]\ncertificates = \"inbox/registrations/\"\n", "[locations] registrations and certificates are the same folder (file://"},
		{"[locations]\nsms = \"sftp://u@h:22/in\"\ncertificates = \"sftp://u@h:22/in/\"\n", "[locations] certificates and sms are the same folder (sftp://u@h:22/in/)"},
		{"[locations]\nresults = \"sftp://u@h:22/bank\"\npayments = \"sftp://u@h:22/bank\"\n", ""}, // ZTPAY_ and ZTRES_ files
		// One folder however its URL is written: the default port, the
		// host's case, a trailing slash or a dot; another user's is its own.
		{"[locations]\nsms = \"sftp://u@H.example:22/in\"\ncertificates = \"sftp://u@h.example/./in/\"\n", "[locations] certificates and sms are the same folder (sftp://u@h.example/./in/)"},
		{"[locations]\nsms = \"sftp://u@h:2222/in\"\ncertificates = \"sftp://u@h/in\"\n", ""},
		{"[locations]\nsms = \"sftp://sms@h/in\"\ncertificates = \"sftp://appraisal@h/in\"\n", ""},
		// Each party's folder its own: no payment file where the SMS
		// platform or the registration system reads.
		{"[locations]\nsms = \"outbox/payments/\"\n", "[locations] payments and sms are the same folder (file://"},
		{"[locations]\npayments = \"inbox/registrations\"\n", "[locations] registrations and payments are the same folder (file://"},
		{"[locations]\nresults = \"sftp://u@h:22/x\"\nsms = \"sftp://u@h:22/x/\"\n", "[locations] results and sms are the same folder (sftp://u@h:22/x): each party needs a folder of its own"},
		// The database's copies: a folder of their own, apart from the
		// ledger key, the anchor, the reports and every party's folder.
		{"[backup]\nfolder = \"backups\"\nkeep = 1\n", ""},
		{"[backup]\nkeep = -1\n", "[backup] keep must be 1 or more, or 0 for 7"},
		{"[backup]\nfolder = \".\"\n", "is where the [ledger] key_file is (" + filepath.Join(dir, "zhutui.ledger.key") + ")"},
		{"[backup]\nfolder = \"backups\"\n[ledger]\nanchor_file = \"backups/z.anchor\"\n", "is where the [ledger] anchor_file is ("},
		{"[backup]\nfolder = \"reports/copies\"\n", "is in the reports' folder " + filepath.Join(dir, "reports")},
		{"[backup]\nfolder = \"outbox/payments\"\n", "is in the payments folder " + filepath.Join(dir, "outbox/payments")},
		{"[backup]\nfolder = \"inbox/registrations/x/..\"\n", "is in the registrations folder "},
		{"[backup]\nfolder = \"inbox/results-copies\"\n", ""}, // beside a folder, not in it
	} {
		path := filepath.Join(dir, "zhutui.toml")
		if err := os.WriteFile(path, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := loadConfig(path, true)
		if c.want == "" && err != nil {
			t.Errorf("%q: %v", c.text, err)
		}
		if c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%q: %v; want %q", c.text, err, c.want)
		}
	}
}

// TestConfigSSHRetries: [ssh] retries reaches the SFTP locations as their
// options take it: unset the default (3), 0 no retry at all, others as they
// are. (0 used to mean the default too, so no retry could not be asked for.)
func TestConfigSSHRetries(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "zhutui.toml")
	for text, want := range map[string]int{"": 0, "[ssh]\nretries = 0\n": -1, "[ssh]\nretries = 2\n": 2} {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := loadConfig(path, true)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.sshRetries(); got != want {
			t.Errorf("%q: sftp.Options.Retries %d, want %d", text, got, want)
		}
	}
}
