package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
)

// TestDeliverStoppedBetweenBatches: a night stopped once a batch is recorded
// as sent, while the next one is being read, fails its deliver stage; it
// does not record it as done with the next batch left behind. The reader of
// the next batch meets the stop in one of two ways, chosen at random by its
// select: it hands over its error, or it stops without a word and only the
// stage's own check of the context sees it. Fifty nights take both ways
// (each with odds one half), and each must fail.
func TestDeliverStoppedBetweenBatches(t *testing.T) {
	for night := range 50 {
		ctx, cancel := context.WithCancel(context.Background())
		st := &deliverStore{ids: []string{"B1", "B2"}, stop: cancel}
		bank := &memFolder{url: "mem:///bank"}
		r := &Runner{Store: st, Bank: Banking{Format: textFormat{}, Payments: bank}}
		res := &Result{}
		counts, err := r.deliver(ctx, 1, res)
		cancel()
		if err == nil {
			t.Fatalf("night %d: the deliver stage stopped after B1 is recorded as done (%q), B2 left behind", night, counts)
		}
		if !slices.Equal(st.sent, []string{"B1"}) || !slices.Equal(res.Delivered, []string{"B1"}) ||
			!slices.Equal(bank.names, []string{"ZTPAY_B1.txt", "ZTPAY_B1.txt.sha256"}) {
			t.Fatalf("night %d: sent %q, delivered %q, files put %q; want B1 alone", night, st.sent, res.Delivered, bank.names)
		}
	}
}

// deliverStore has approved batches ids to deliver; those in began had
// their delivery begun by that run, and rejected is rejected once listed.
// With stop, recording the first as sent stops the night, and reading any
// other waits for the stop.
type deliverStore struct {
	Store     // the deliver stage uses only the methods below
	ids       []string
	began     map[string]int64
	rejected  string
	stop      func()
	sent      []string
	delivered []string // batches delivered before, known to the store
}

func (s *deliverStore) BatchesToDeliver(context.Context) ([]string, error) { return s.ids, nil }

// UnknownBatches knows the batches to deliver and those delivered before.
func (s *deliverStore) UnknownBatches(_ context.Context, ids []string) ([]string, error) {
	var unknown []string
	for _, id := range ids {
		if !slices.Contains(s.ids, id) && !slices.Contains(s.delivered, id) {
			unknown = append(unknown, id)
		}
	}
	return unknown, nil
}
func (s *deliverStore) LastVerdict(context.Context) (int64, string, error) { return 0, Reconciled, nil }
func (s *deliverStore) VerifyNewEntries(context.Context) ([]string, error) { return nil, nil }

func (s *deliverStore) Batch(ctx context.Context, id string) (*Batch, error) {
	if s.stop != nil && id != s.ids[0] {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	b := &Batch{ID: id, Status: BatchApproved, DeliveryRun: s.began[id]}
	data, _ := textFormat{}.RenderPayment(b)
	b.FileSHA256 = sha256Hex(data)
	return b, nil
}

func (s *deliverStore) BeginDelivery(_ context.Context, _ int64, id, _ string) (BatchStatus, error) {
	if id == s.rejected {
		return BatchRejected, nil
	}
	return BatchApproved, nil
}

func (s *deliverStore) MarkSent(_ context.Context, _ int64, id string, _ []Delivery) error {
	s.sent = append(s.sent, id)
	if s.stop != nil {
		s.stop()
	}
	return nil
}

// textFormat renders a batch as its ID.
type textFormat struct{}

func (textFormat) RenderPayment(b *Batch) ([]byte, error) { return []byte(b.ID + "\n"), nil }
func (textFormat) Sidecar(name string, data []byte) []byte {
	return fmt.Appendf(nil, "%x  %s\n", sha256.Sum256(data), name)
}

// TestDeliverGoesOnPastABatchItDoesNotPut: a batch the bank took after an
// earlier attempt began its delivery (recorded as sent, nothing put again)
// and a batch rejected since the stage listed it (its payment file put, no
// sidecar) do not end the stage: the approved batch after them is delivered
// the same night.
func TestDeliverGoesOnPastABatchItDoesNotPut(t *testing.T) {
	st := &deliverStore{ids: []string{"B1", "B2", "B3"}, began: map[string]int64{"B1": 5}, rejected: "B2"}
	bank := &memFolder{url: "mem:///bank"}
	r := &Runner{Store: st, Bank: Banking{Format: textFormat{}, Payments: bank}}
	res := &Result{}
	counts, err := r.deliver(context.Background(), 6, res)
	if err != nil || counts != "delivered=2 not-approved=1" {
		t.Fatalf("deliver: %q, %v", counts, err)
	}
	if !slices.Equal(st.sent, []string{"B1", "B3"}) || !slices.Equal(res.Delivered, []string{"B1", "B3"}) ||
		!slices.Equal(bank.names, []string{"ZTPAY_B2.txt", "ZTPAY_B3.txt", "ZTPAY_B3.txt.sha256"}) {
		t.Fatalf("sent %q, delivered %q, files put %q; want B1 and B3 sent, B3's files and B2's payment file put",
			st.sent, res.Delivered, bank.names)
	}
}

// TestDeliverRefusesStrangersAtTheBank: with a payment file or sidecar in the
// bank's folder of a batch the store never made (a database put back with
// its anchor file, or another installation delivering there), nothing is
// delivered: the bank would pay both. The store's own earlier files are no
// strangers, and a folder that cannot be listed is not checked.
func TestDeliverRefusesStrangersAtTheBank(t *testing.T) {
	for _, c := range []struct {
		name     string
		there    []string
		unlisted bool
		refused  string
	}{
		{"a payment file and its sidecar", []string{"ZTPAY_B9.txt", "ZTPAY_B9.txt.sha256"}, false, "holds ZTPAY_B9.txt of batch B9"},
		{"a sidecar alone", []string{"ZTPAY_B9.txt.sha256"}, false, "holds ZTPAY_B9.txt.sha256 of batch B9"},
		{"the store's own", []string{"ZTPAY_B0.txt", "ZTPAY_B0.txt.sha256", "ZTRES_B9.txt", ".ZTPAY_B9.txt.part"}, false, ""},
		{"a folder not listed", []string{"ZTPAY_B9.txt"}, true, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := &deliverStore{ids: []string{"B1"}, delivered: []string{"B0"}}
			bank := &memFolder{url: "mem:///bank", files: map[string]string{}}
			for _, n := range c.there {
				bank.files[n] = "x"
			}
			if c.unlisted {
				bank.unlisted = errors.New("permission denied")
			}
			var log bytes.Buffer
			r := &Runner{Store: st, Bank: Banking{Format: textFormat{}, Payments: bank}, Log: slog.New(slog.NewTextHandler(&log, nil))}
			_, err := r.deliver(context.Background(), 1, &Result{})
			if said := strings.Contains(log.String(), "the bank's folder cannot be listed"); said != c.unlisted {
				t.Errorf("the log says the folder was not checked: %v, want %v\n%s", said, c.unlisted, log.String())
			}
			if c.refused == "" {
				if err != nil || !slices.Equal(st.sent, []string{"B1"}) {
					t.Fatalf("refused (%v) or not delivered: sent %q", err, st.sent)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "nothing is delivered: the bank's folder mem:///bank "+c.refused+
				", which this database never made (1 such batch in all)") || len(st.sent) > 0 || len(bank.names) > 0 {
				t.Fatalf("delivered beside a stranger: err %v, sent %q, put %q", err, st.sent, bank.names)
			}
		})
	}
}
