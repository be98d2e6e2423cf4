package report

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"zhutui/pipeline"
)

// changes is a report source that knows only the changed registrations.
type changes struct {
	pipeline.ReportSource
	lines      []pipeline.RegistrationLine
	exceptions []changedExceptions
}

func (c changes) EachChangedRegistration(_ context.Context, _ int64, fn func(pipeline.RegistrationLine) error) error {
	for _, l := range c.lines {
		if err := fn(l); err != nil {
			return err
		}
	}
	return nil
}

func fen(v int64) *int64 { return &v }

// writeState writes lines as the state at path with add, and checks that
// what commit records is the file's SHA-256 and its lines.
func writeState[L any](t *testing.T, path string, lines []L, add func(*stateWriter, *L) error) pipeline.ReportState {
	t.Helper()
	w, err := newStateWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range lines {
		if err := add(w, &lines[i]); err != nil {
			t.Fatal(err)
		}
	}
	st, err := w.commit(path)
	if err != nil {
		t.Fatal(err)
	}
	if sum, err := fileSHA256(path); err != nil || sum != st.SHA256 || st.Rows != int64(len(lines)) {
		t.Fatalf("state %+v, file hash %s, %v", st, sum, err)
	}
	return st
}

// A state written and read back gives the same lines, whatever their text,
// with the changed ones in their place: replaced, or new before, between and
// after the others.
func TestStateMerge(t *testing.T) {
	path := filepath.Join(t.TempDir(), stateFolder, stateFile)
	old := []pipeline.RegistrationLine{
		{RegistrationID: "R2", Status: pipeline.Status("PAID"), AmountFen: fen(200000), PaymentRef: "R2-1", BatchID: "B2015011001", Level: 1, Station: "东城区服务站"},
		{RegistrationID: "R4", Status: pipeline.Status("NAME_MISMATCH"), Reasons: "NAME_MISMATCH;PERSON_LEVEL_LIMIT", Level: 2, Station: "a, \"quoted\"\nstation"},
		{RegistrationID: "R6", Status: pipeline.Status("ELIGIBLE"), AmountFen: fen(100000), Level: 2, Station: ""},
	}
	st := writeState(t, path, old, (*stateWriter).add)

	changed := []pipeline.RegistrationLine{
		{RegistrationID: "R1", Status: pipeline.Status("PENDING_CERTIFICATE"), Reasons: "PENDING_CERTIFICATE", Level: 1, Station: "x"},
		{RegistrationID: "R4", Status: pipeline.Status("ELIGIBLE"), AmountFen: fen(100000), Level: 2, Station: "y"},
		{RegistrationID: "R5", Status: pipeline.Status("ELIGIBLE"), AmountFen: fen(100000), Level: 2, Station: "z"},
		{RegistrationID: "R7", Status: pipeline.Status("STATION_REJECTED"), Reasons: "STATION_REJECTED", Level: 1, Station: "w"},
	}
	var got []pipeline.RegistrationLine
	ch := pipeline.ReportChanges{Mark: 9, Notes: 4, State: st}
	if err := merge(context.Background(), changes{lines: changed}, path, ch, func(l pipeline.RegistrationLine) error {
		got = append(got, l)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := []pipeline.RegistrationLine{changed[0], old[0], changed[1], changed[2], old[2], changed[3]}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("merged:\n%+v\nwant:\n%+v", got, want)
	}

	// A state with other lines than recorded is refused.
	ch.State.Rows = 4
	err := merge(context.Background(), changes{}, path, ch, func(pipeline.RegistrationLine) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "3 lines, the store recorded 4") {
		t.Errorf("a state of 3 lines recorded as 4: %v", err)
	}
}

func (c changes) EachChangedException(_ context.Context, _ int64, fn func(string, []pipeline.ExceptionLine) error) error {
	for _, r := range c.exceptions {
		if err := fn(r.id, r.lines); err != nil {
			return err
		}
	}
	return nil
}

type changedExceptions struct {
	id    string
	lines []pipeline.ExceptionLine
}

func exception(id string, code pipeline.Status, field, registered, feed string) pipeline.ExceptionLine {
	return pipeline.ExceptionLine{RegistrationID: id, Station: "东城区服务站", Status: code,
		Finding: pipeline.Finding{Code: code, Field: field, Registered: registered, Feed: feed}}
}

// The exceptions' state, written and read back, gives the same lines; a
// changed registration's lines (masked) take the place of all of its old
// ones, also when it has none left, and new ones come in their place.
func TestExceptionsStateMerge(t *testing.T) {
	path := filepath.Join(t.TempDir(), stateFolder, exceptionsFile)
	old := []pipeline.ExceptionLine{
		exception("R2", pipeline.NameMismatch, "name", "张三", "a, \"quoted\"\nname"),
		exception("R2", pipeline.DuplicateCertificate, "certificate_number", "C2", "first: R1"),
		exception("R4", pipeline.InvalidCardNumber, "card_number", "621067*********4567", ""),
		exception("R6", pipeline.IDMismatch, "id_number", "110105********123X", "110105********1234"),
		exception("R6", pipeline.PersonLevelLimit, "level", "1", "first: R5"),
		exception("R8", pipeline.PendingCertificate, "certificate_number", "C8", ""),
	}
	st := writeState(t, path, old, (*stateWriter).addException)

	r1 := exception("R1", pipeline.InvalidIDNumber, "id_number", "11010519491231002X", "")
	r3 := exception("R3", pipeline.StationRejected, "verification", "rejected", "")
	r6 := exception("R6", pipeline.PersonLevelLimit, "level", "1", "first: R3")
	r9 := exception("R9", pipeline.NameMismatch, "name", "李四", "李肆")
	changed := []changedExceptions{
		{"R1", []pipeline.ExceptionLine{r1}}, // new, first
		{"R2", nil},                          // no failing check any more
		{"R3", []pipeline.ExceptionLine{r3}}, // new, between
		{"R6", []pipeline.ExceptionLine{r6}}, // one line of two left, naming another first
		{"R7", nil},                          // changed, without failing checks before or now
		{"R9", []pipeline.ExceptionLine{r9}}, // new, last
	}
	var got []pipeline.ExceptionLine
	ch := pipeline.ReportChanges{Mark: 9, Notes: 6, State: pipeline.ReportState{ExceptionsSHA256: st.SHA256, ExceptionRows: st.Rows}}
	if err := mergeExceptions(context.Background(), changes{exceptions: changed}, path, ch, func(l pipeline.ExceptionLine) error {
		got = append(got, l)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	r1.Registered = "110105********002X" // masked as it comes from the store
	want := []pipeline.ExceptionLine{r1, r3, old[2], r6, old[5], r9}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("merged:\n%+v\nwant:\n%+v", got, want)
	}

	// A state with other lines than recorded is refused.
	ch.State.ExceptionRows = 7
	err := mergeExceptions(context.Background(), changes{}, path, ch, func(pipeline.ExceptionLine) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "6 lines, the store recorded 7") {
		t.Errorf("a state of 6 lines recorded as 7: %v", err)
	}
}
