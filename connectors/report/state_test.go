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
	lines []pipeline.RegistrationLine
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
	w, err := newStateWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range old {
		if err := w.add(&old[i]); err != nil {
			t.Fatal(err)
		}
	}
	st, err := w.commit(path)
	if err != nil {
		t.Fatal(err)
	}
	if sum, err := fileSHA256(path); err != nil || sum != st.SHA256 || st.Rows != 3 {
		t.Fatalf("state %+v, file hash %s, %v", st, sum, err)
	}

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
	err = merge(context.Background(), changes{}, path, ch, func(pipeline.RegistrationLine) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "3 lines, the store recorded 4") {
		t.Errorf("a state of 3 lines recorded as 4: %v", err)
	}
}
