package pipeline_test

import (
	"errors"
	"fmt"
	"testing"

	"zhutui/pipeline"
)

func source(n int, fail error) pipeline.RegistrationSource {
	return func(row pipeline.RegistrationSink, reject pipeline.RejectSink) error {
		for i := 1; i <= n; i++ {
			var err error
			if i%7 == 0 {
				err = reject(pipeline.Reject{File: "f", Line: i, Reason: "seven"})
			} else {
				r := pipeline.Registration{ID: fmt.Sprint(i)}
				err = row(i, &r)
			}
			if err != nil {
				return err
			}
		}
		return fail
	}
}

func TestPipelined(t *testing.T) {
	t.Run("OrderKept", func(t *testing.T) {
		var lines []int
		err := source(1000, nil).Pipelined()(func(line int, r *pipeline.Registration) error {
			if r.ID != fmt.Sprint(line) {
				t.Fatalf("row %d carries %s", line, r.ID)
			}
			lines = append(lines, line)
			return nil
		}, func(r pipeline.Reject) error { lines = append(lines, -r.Line); return nil })
		if err != nil || len(lines) != 1000 {
			t.Fatalf("%d items, %v", len(lines), err)
		}
		for i, l := range lines {
			want := i + 1
			if want%7 == 0 {
				want = -want
			}
			if l != want {
				t.Fatalf("item %d is %d, want %d", i, l, want)
			}
		}
	})
	t.Run("ErrFromSinkStopsTheSource", func(t *testing.T) {
		stop := errors.New("disk full")
		n := 0
		err := source(100000, nil).Pipelined()(func(int, *pipeline.Registration) error {
			n++
			if n == 10 {
				return stop
			}
			return nil
		}, func(pipeline.Reject) error { return nil })
		if !errors.Is(err, stop) || n != 10 {
			t.Fatalf("err %v after %d rows", err, n)
		}
	})
	t.Run("ErrFromSource", func(t *testing.T) {
		// The rows read before a file error may or may not reach the sinks:
		// a file error means nothing of the file is applied.
		bad := &pipeline.FileError{File: "f", Reason: "undecodable"}
		err := source(300, bad).Pipelined()(func(int, *pipeline.Registration) error { return nil },
			func(pipeline.Reject) error { return nil })
		if err != bad {
			t.Fatalf("err = %v, want the source's", err)
		}
	})
}
