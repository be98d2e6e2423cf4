package pipeline

import "errors"

// errStopped tells a producer that its consumer has stopped.
var errStopped = errors.New("stopped")

// item is a row or a reject handed from a reading goroutine to the writer.
type item[T any] struct {
	line   int
	row    T
	reject *Reject
}

// pipelined runs a source in its own goroutine, handing its rows (copied) to
// the caller's sinks in blocks, so that decoding a file on one core overlaps
// with writing it on the other. Rows and rejects keep their order. An error
// from the sinks stops the source; the source's own error is returned.
func pipelined[T any](src func(row func(int, *T) error, reject RejectSink) error) func(row func(int, *T) error, reject RejectSink) error {
	return func(row func(int, *T) error, reject RejectSink) error {
		const block = 256
		blocks := make(chan []item[T], 8)
		stop := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			buf := make([]item[T], 0, block)
			send := func() error {
				select {
				case blocks <- buf:
					buf = make([]item[T], 0, block)
					return nil
				case <-stop:
					return errStopped
				}
			}
			add := func(it item[T]) error {
				buf = append(buf, it)
				if len(buf) == block {
					return send()
				}
				return nil
			}
			err := src(func(line int, v *T) error { return add(item[T]{line: line, row: *v}) },
				func(r Reject) error { return add(item[T]{line: r.Line, reject: &r}) })
			if err == nil && len(buf) > 0 {
				err = send()
			}
			close(blocks)
			done <- err
		}()
		var sinkErr error
		for b := range blocks {
			if sinkErr != nil {
				continue
			}
			for i := range b {
				if b[i].reject != nil {
					sinkErr = reject(*b[i].reject)
				} else {
					sinkErr = row(b[i].line, &b[i].row)
				}
				if sinkErr != nil {
					close(stop)
					break
				}
			}
		}
		srcErr := <-done
		if sinkErr != nil {
			return sinkErr
		}
		return srcErr
	}
}

// Pipelined returns a registration source that decodes in its own goroutine.
func (src RegistrationSource) Pipelined() RegistrationSource {
	p := pipelined[Registration](func(row func(int, *Registration) error, reject RejectSink) error {
		return src(row, reject)
	})
	return func(row RegistrationSink, reject RejectSink) error { return p(row, reject) }
}

// Pipelined returns a certificate source that decodes in its own goroutine.
func (src CertificateSource) Pipelined() CertificateSource {
	p := pipelined[Certificate](func(row func(int, *Certificate) error, reject RejectSink) error {
		return src(row, reject)
	})
	return func(row CertificateSink, reject RejectSink) error { return p(row, reject) }
}
