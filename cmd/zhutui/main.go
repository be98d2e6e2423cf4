// Command zhutui pays Beijing's trade-union career development subsidies:
// it takes the registration export and the certificate feed, decides every
// registration, pays the eligible ones through the bank exactly once and
// reports to finance staff. See README.md and INTERFACES.md §7.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
	"time"

	"zhutui/connectors/sqlite"
	"zhutui/pipeline"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	setGCPercent()
	// $ZHUTUI_CPUPROFILE names a file for a CPU profile of this invocation
	// (make bench and performance work use it).
	if path := os.Getenv("ZHUTUI_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			if pprof.StartCPUProfile(f) == nil {
				defer f.Close()
				defer pprof.StopCPUProfile()
			}
		}
	}
	code := Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if code != exitOK {
		pprof.StopCPUProfile()
		os.Exit(code)
	}
}

// gcPercent is the garbage collector's target unless $GOGC says otherwise: a
// night allocates rows by the million, and with Go's default of 100 a 1M
// first night took 60.1-63.8 s against 56.6-58.8 s with 200 (four rounds
// alternated; 400 gained 0.5 s more for 50 MiB more peak RSS). Most of the
// memory is SQLite's page caches, outside Go's heap: peak RSS went from
// 287-317 MiB to 298-315 MiB.
const gcPercent = 200

func setGCPercent() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}

// Exit statuses of INTERFACES.md §7.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

// App is one invocation of the command: its global options and where it writes.
type App struct {
	configPath string
	explicit   bool
	logFormat  string
	verbose    bool
	stdout     io.Writer
	stderr     io.Writer
	now        func() time.Time
	log        *slog.Logger
	closers    []io.Closer
	command    command // the one running, for its usage (-h)
}

type command struct {
	usage string
	help  string
	run   func(ctx context.Context, app *App, args []string) error
}

var commands = map[string]command{
	"init":    {"init", "create or migrate the database and load the programme", cmdInit},
	"run":     {"run [--as-of DATE]", "one nightly cycle over the configured locations", cmdRun},
	"ingest":  {"ingest registrations|certificates|results FILE...", "take input files by hand", cmdIngest},
	"batch":   {batchUsage, "payment batches", cmdBatch},
	"ledger":  {"ledger verify", "recompute the ledger's chain and balances", cmdLedger},
	"daemon":  {"daemon", "the nightly schedule (cron expression in the config)", cmdDaemon},
	"rerun":   {"rerun RUN_ID", "finish a run that failed", cmdRerun},
	"report":  {"report [--run RUN_ID] [--out DIR]", "write the reconciliation report", cmdReport},
	"status":  {"status [--runs N] [--check]", "show the last runs and what is waiting (--check: exit 1 when something needs a person)", cmdStatus},
	"demo":    {"demo [--dir DIR]", "the whole cycle on the built-in fixtures, no set-up", cmdDemo},
	"gen":     {"gen --registrations N --out DIR", "generate synthetic input files (for benchmarks)", cmdGen},
	"backup":  {"backup [FILE]", "a whole copy of the database, also while a night runs (no FILE: into [backup] folder, as the daemon)", cmdBackup},
	"restore": {"restore COPY", "put a copy of the database in its place, checked first (zhutui stopped)", cmdRestore},
}

// Main runs the command line and returns the exit status.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := &App{stdout: stdout, stderr: stderr, now: time.Now}
	global := flag.NewFlagSet("zhutui", flag.ContinueOnError)
	global.SetOutput(stderr)
	app.globalFlags(global)
	global.Usage = func() {} // said below: on stdout when asked for, on stderr after a mistake
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return exitOK
		}
		usage(stderr)
		return exitUsage
	}
	rest := global.Args()
	if len(rest) == 0 {
		usage(stderr)
		return exitUsage
	}
	// zhutui help, and zhutui help COMMAND: that command's flags (-h).
	if rest[0] == "help" {
		if len(rest) == 1 {
			usage(stdout)
			return exitOK
		}
		rest = []string{rest[1], "-h"}
	}
	cmd, ok := commands[rest[0]]
	if !ok {
		fmt.Fprintf(stderr, "zhutui: unknown command %q\n", rest[0])
		usage(stderr)
		return exitUsage
	}
	app.command = cmd
	err := cmd.run(ctx, app, rest[1:])
	app.close()
	var ce configError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ce), errors.Is(err, pipeline.ErrNoPayerAccount), errors.Is(err, pipeline.ErrNotOneLine):
		fmt.Fprintf(stderr, "zhutui %s: %v\n", rest[0], err)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "zhutui %s: %v\n", rest[0], err)
		if sqlite.IsBusy(err) {
			fmt.Fprintln(stderr, "    another zhutui held the database's write lock for the whole busy timeout (10 s),"+
				" as a night does in its long steps, and the command stopped there; zhutui status shows who works:"+
				" try again when it is done")
		}
		return exitFailed
	}
}

func (app *App) globalFlags(fs *flag.FlagSet) {
	def := os.Getenv("ZHUTUI_CONFIG")
	if def == "" {
		def = "zhutui.toml"
	}
	if app.configPath == "" {
		app.configPath = def
		app.explicit = os.Getenv("ZHUTUI_CONFIG") != ""
	}
	fs.Func("config", "configuration file (default zhutui.toml, or $ZHUTUI_CONFIG)", func(v string) error {
		app.configPath, app.explicit = v, true
		return nil
	})
	if app.logFormat == "" {
		app.logFormat = "text"
	}
	// The defaults are the values already parsed: global options given
	// before the command stay set.
	fs.StringVar(&app.logFormat, "log-format", app.logFormat, "log format: text or json")
	fs.BoolVar(&app.verbose, "v", app.verbose, "log every stage and progress to stderr (the default on a terminal)")
}

// flags returns a flag set for a command that also takes the global options.
func (app *App) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("zhutui "+name, flag.ContinueOnError)
	// parse says it all: the usage on stdout when asked for; after a mistake
	// the usage on stderr, and Main the mistake, last.
	fs.SetOutput(io.Discard)
	app.globalFlags(fs)
	fs.Usage = func() {}
	return fs
}

// parse parses a command's flags, turning mistakes into usage errors.
func (app *App) parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			app.commandUsage(fs, app.stdout)
			return err
		}
		app.commandUsage(fs, app.stderr)
		return configError{err}
	}
	_, err := app.logger()
	return err
}

// commandUsage writes the running command's usage line, what it does, and
// its options.
func (app *App) commandUsage(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprintf(w, "usage: zhutui %s\n  %s\n\noptions:\n", app.command.usage, app.command.help)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "usage: zhutui [--config FILE] [--log-format text|json] COMMAND [ARGS]\n"+
		"       zhutui help [COMMAND]\n\ncommands:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-44s %s\n", commands[n].usage, commands[n].help)
	}
}

// logger returns the log for stderr: text or JSON. It logs every stage and
// progress on a terminal or with -v, and only warnings and errors otherwise.
func (app *App) logger() (*slog.Logger, error) {
	if app.log != nil {
		return app.log, nil
	}
	level := slog.LevelWarn
	if app.verbose || isTerminal(app.stderr) {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(app.logFormat) {
	case "text", "":
		app.log = slog.New(slog.NewTextHandler(app.stderr, opts))
	case "json":
		app.log = slog.New(slog.NewJSONHandler(app.stderr, opts))
	default:
		return nil, configErrorf("--log-format %q: want text or json", app.logFormat)
	}
	return app.log, nil
}

// config loads the configuration.
func (app *App) config() (*Config, error) {
	return loadConfig(app.configPath, app.explicit)
}

// businessDate reads --as-of, or today in Beijing. A date after today is
// refused: it becomes the value date of the night's payment files.
func (app *App) businessDate(asOf string) (pipeline.Date, error) {
	today := pipeline.DateOf(app.now())
	if asOf == "" {
		return today, nil
	}
	t, err := pipeline.ParseDate(asOf)
	if err != nil {
		return pipeline.Date{}, configErrorf("--as-of: %v", err)
	}
	d := pipeline.DateOf(t)
	if today.Before(d) {
		return pipeline.Date{}, configErrorf("--as-of %s is after today (%s in Beijing): the business date is the "+
			"value date of the night's payment files, and it cannot be in the future", d, today)
	}
	return d, nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
