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
