# zhutui — see README.md.
GO      ?= go
BIN     := bin/zhutui
PKGS    := ./...

# SQLite built without its memory statistics, as SQLite's documentation
# advises for speed: with them every allocation took a global mutex, 3-5% of
# a 1M first night (session 9). zhutui reads no memory statistics; a build
# without make is the same but for that.
export CGO_CFLAGS ?= -O2 -g -DSQLITE_DEFAULT_MEMSTATUS=0

.PHONY: all build demo test test-race test-short bench lint fuzz soak cover clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/zhutui

## demo: the whole cycle on the built-in fixtures, no set-up needed
demo: build
	./$(BIN) demo

## test: every test, the end-to-end ones included (CI runs this)
## (artifacts such as the report screenshot go to .test-output/_artifacts)
test:
	$(GO) vet $(PKGS)
	mkdir -p .test-output
	$(GO) test -count=1 -timeout 15m -artifacts -outputdir $(CURDIR)/.test-output $(PKGS)

## test-race: every test under the race detector; the end-to-end tests then
## run a zhutui built with it too (about fifteen minutes; not part of make test)
test-race:
	mkdir -p .test-output
	$(GO) test -race -count=1 -timeout 30m -artifacts -outputdir $(CURDIR)/.test-output $(PKGS)

## bench: Go benchmarks of the hot paths, then the million-row nights
## (BENCH_N registrations, default 1000000; BENCH_SECOND added on night two)
BENCH_N      ?= 1000000
BENCH_SECOND ?= 10000
bench: build
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)
	$(GO) run ./cmd/zhutui-bench --bin $(BIN) --registrations $(BENCH_N) --second $(BENCH_SECOND)

## cover: statement coverage of every package, counting both the unit tests
## and what the end-to-end tests' zhutui binary runs (not part of make test);
## per-function figures in .test-output/cover/funcs.txt
COVER := $(CURDIR)/.test-output/cover
cover:
	rm -rf $(COVER) && mkdir -p $(COVER)/unit $(COVER)/e2e
	ZHUTUI_E2E_COVERDIR=$(COVER)/e2e $(GO) test -count=1 -timeout 15m -cover -coverpkg=zhutui/... $(PKGS) -args -test.gocoverdir=$(COVER)/unit >/dev/null
	$(GO) tool covdata percent -i=$(COVER)/unit,$(COVER)/e2e
	$(GO) tool covdata textfmt -i=$(COVER)/unit,$(COVER)/e2e -o $(COVER)/profile.txt
	$(GO) tool cover -func=$(COVER)/profile.txt > $(COVER)/funcs.txt
	@tail -1 $(COVER)/funcs.txt

## lint: formatting, vet and staticcheck (fetched by go run, pinned)
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) run $(STATICCHECK) $(PKGS)

## soak: the generated-history tests with SEEDS seeds each (default 1000; make test runs 80, 40, 10 and 20)
SEEDS ?= 1000
soak:
	$(GO) test ./connectors/sqlite -count=1 -timeout 2h -run 'TestNightsAgreeWithOneNight|TestNothingPaidTwice|TestReportStateAgreesWithEveryRegistration|TestNightJudgesAsJudgingAll' -seeds $(SEEDS) -v

## fuzz: each fuzz target for FUZZTIME (default 30s)
FUZZTIME ?= 30s
fuzz:
	$(GO) test ./pipeline -run '^$$' -fuzz FuzzNormalize -fuzztime $(FUZZTIME)
	$(GO) test ./pipeline -run '^$$' -fuzz FuzzParseDate -fuzztime $(FUZZTIME)
	$(GO) test ./pipeline -run '^$$' -fuzz FuzzFormatFen -fuzztime $(FUZZTIME)
	$(GO) test ./pipeline -run '^$$' -fuzz FuzzOneLine -fuzztime $(FUZZTIME)
	$(GO) test ./connectors/csvfile -run '^$$' -fuzz FuzzRegistrations -fuzztime $(FUZZTIME)
	$(GO) test ./connectors/csvfile -run '^$$' -fuzz FuzzCertificates -fuzztime $(FUZZTIME)
	$(GO) test ./connectors/bankfile -run '^$$' -fuzz FuzzParseResult -fuzztime $(FUZZTIME)

clean:
	rm -rf bin .bench
