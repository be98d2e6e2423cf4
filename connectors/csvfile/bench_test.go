package csvfile_test

import (
	"bytes"
	"strings"
	"testing"

	"zhutui/connectors/csvfile"
	"zhutui/pipeline"
)

func benchFile(rows int) []byte {
	var b strings.Builder
	b.WriteString(regHeader)
	for range rows {
		b.WriteString(regRow)
	}
	return []byte(b.String())
}

// BenchmarkRegistrations measures decoding a registration export, per row.
func BenchmarkRegistrations(b *testing.B) {
	data := benchFile(10000)
	b.ReportAllocs()
	for b.Loop() {
		err := csvfile.Registrations("b.csv", bytes.NewReader(data), csvfile.UTF8)(
			func(int, *pipeline.Registration) error { return nil },
			func(pipeline.Reject) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*10000), "ns/row")
}

func BenchmarkInspect(b *testing.B) {
	data := benchFile(10000)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := csvfile.Inspect(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkInspectLarge(b *testing.B) {
	data := benchFile(200000)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := csvfile.Inspect(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}
