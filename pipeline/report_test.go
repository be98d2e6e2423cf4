package pipeline_test

import (
	"fmt"
	"slices"
	"testing"

	"zhutui/pipeline"
)

// TestTallies: the summary's counts by status, level and station, each with
// how many hold money decided payable and its sum, as the registrations
// stream by; each section sorted by its key.
func TestTallies(t *testing.T) {
	fen := func(n int64) *int64 { return &n }
	var tl pipeline.Tallies
	for _, l := range []pipeline.RegistrationLine{
		{RegistrationID: "R1", Status: pipeline.Paid, AmountFen: fen(200000), Level: 1, Station: "海淀"},
		{RegistrationID: "R2", Status: pipeline.Eligible, AmountFen: fen(100000), Level: 2, Station: "朝阳"},
		{RegistrationID: "R3", Status: pipeline.Paid, AmountFen: fen(100000), Level: 2, Station: "海淀"},
		{RegistrationID: "R4", Status: pipeline.CertRevoked, Level: 1, Station: "朝阳"},
		{RegistrationID: "R5", Status: pipeline.Eligible, AmountFen: fen(200000), Level: 1, Station: "东城"},
	} {
		tl.Add(&l)
	}
	var sum pipeline.Summary
	tl.Fill(&sum)
	if sum.Registrations != 5 {
		t.Errorf("%d registrations, want 5", sum.Registrations)
	}
	show := func(ts []pipeline.Tally) []string {
		var out []string
		for _, x := range ts {
			out = append(out, fmt.Sprintf("%s %d %d %s", x.Key, x.Count, x.Payable, pipeline.FormatFen(x.AmountFen)))
		}
		return out
	}
	for _, tc := range []struct {
		name string
		got  []pipeline.Tally
		want []string
	}{
		{"status", sum.ByStatus, []string{"CERT_REVOKED 1 0 0.00", "ELIGIBLE 2 2 3000.00", "PAID 2 2 3000.00"}},
		{"level", sum.ByLevel, []string{"1 3 2 4000.00", "2 2 2 2000.00"}},
		{"station", sum.ByStation, []string{"东城 1 1 2000.00", "朝阳 2 1 1000.00", "海淀 2 2 3000.00"}},
	} {
		if got := show(tc.got); !slices.Equal(got, tc.want) {
			t.Errorf("by %s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}
