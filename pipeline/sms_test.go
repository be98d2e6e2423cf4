package pipeline_test

import (
	"strings"
	"testing"

	"zhutui/pipeline"
)

// A template may use only the placeholders Render fills; a typo would reach
// members' phones as typed.
func TestSMSTemplatesCheck(t *testing.T) {
	if err := pipeline.DefaultSMSTemplates.Check(); err != nil {
		t.Fatalf("the default templates: %v", err)
	}
	ok := pipeline.SMSTemplates{Paid: "{name}: {amount} {card_last4} {payment_ref}", Returned: "{bank_message} {name}"}
	if err := ok.Check(); err != nil {
		t.Errorf("every known placeholder: %v", err)
	}
	for _, tt := range []struct {
		t    pipeline.SMSTemplates
		want string
	}{
		{pipeline.SMSTemplates{Paid: "{nme}您好", Returned: "{name}"}, "paid: unknown placeholder {nme}"},
		{pipeline.SMSTemplates{Paid: "{name}", Returned: "{amount}元 {card}"}, "returned: unknown placeholder {card}"},
		{pipeline.SMSTemplates{Paid: "{Name}", Returned: ""}, "paid: unknown placeholder {Name}"},
	} {
		if err := tt.t.Check(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want %q", tt.t, err, tt.want)
		}
	}
	n := pipeline.Notice{Kind: pipeline.NoticePaid, Name: "王芳", AmountFen: 100000, CardLast4: "4567", PaymentRef: "R1-1"}
	if got := ok.Render(&n); got != "王芳: 1000.00 4567 R1-1" {
		t.Errorf("Render = %q", got)
	}
}
