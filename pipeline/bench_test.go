package pipeline_test

import (
	"testing"

	"zhutui/pipeline"
)

func BenchmarkNormalizeName(b *testing.B) {
	for b.Loop() {
		pipeline.NormalizeName(" 阿依古丽•买买提\u3000")
	}
}

func BenchmarkNormalizeOccupation(b *testing.B) {
	for b.Loop() {
		pipeline.NormalizeOccupation("汽车（拖拉机） 装配工")
	}
}

func BenchmarkValidIDNumber(b *testing.B) {
	for b.Loop() {
		pipeline.ValidIDNumber("11010819750315118X")
	}
}

func BenchmarkEvaluate(b *testing.B) {
	p := mustProgramme(b)
	r, c := validPair(b)
	b.ReportAllocs()
	for b.Loop() {
		p.Evaluate(&r, &c)
	}
}

func BenchmarkChainHash(b *testing.B) {
	c := pipeline.NewChain([]byte("a ledger key of thirty-two bytes"))
	e := pipeline.Entry{Seq: 1, At: "2015-01-10 02:30:00", RunID: 1,
		Posting: pipeline.NewPosting(pipeline.MoveBatch, "R123456-1", 200000, "B2015011001", "")}
	prev := pipeline.GenesisHash
	for b.Loop() {
		prev = c.Hash(prev, &e)
		e.Seq++
	}
}

// BenchmarkRenderSMS: one paid notice's text (a results night renders one
// per payment).
func BenchmarkRenderSMS(b *testing.B) {
	n := pipeline.Notice{Kind: pipeline.NoticePaid, Name: "王芳", AmountFen: 200000, CardLast4: "4567", PaymentRef: "R1-1"}
	b.ReportAllocs()
	for b.Loop() {
		pipeline.DefaultSMSTemplates.Render(&n)
	}
}
