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

// Render gives what a strings.Replacer of the placeholders gives, for
// templates with braces of every kind around them.
func TestRenderLikeReplacer(t *testing.T) {
	n := pipeline.Notice{Kind: pipeline.NoticeReturned, Name: "王{name}芳", AmountFen: 200050, CardLast4: "0041",
		PaymentRef: "R028-1", BankMessage: "户名不符 {amount}"}
	want := func(tpl string) string {
		return strings.NewReplacer("{name}", n.Name, "{amount}", pipeline.FormatFen(n.AmountFen), "{card_last4}", n.CardLast4,
			"{payment_ref}", n.PaymentRef, "{bank_message}", n.BankMessage).Replace(tpl)
	}
	for _, tpl := range []string{
		pipeline.DefaultSMSTemplates.Returned, "", "{", "}", "{{name}}", "{name", "name}", "{nam{name}e}", "{}{amount}{",
		"{payment_ref}{card_last4}{bank_message}{name}{amount}", "尾号{card_last4}。{", "{{{", "a{b}c",
	} {
		tt := pipeline.SMSTemplates{Returned: tpl}
		if got := tt.Render(&n); got != want(tpl) {
			t.Errorf("Render(%q) = %q, want %q", tpl, got, want(tpl))
		}
	}
}

// An SMS batch is UTF-8 CSV with CRLF line ends and a header, quoted where
// CSV needs it; the same notices give the same bytes.
func TestRenderSMSFile(t *testing.T) {
	notices := []pipeline.Notice{
		{MessageID: "R1-1-paid", Mobile: "13800138000", Content: "王芳您好，资助2000.00元已划拨。"},
		{MessageID: "R2-1-returned", Mobile: "13900139000", Content: `李强您好，"卡已销户",请更新`},
	}
	data, err := pipeline.RenderSMSFile(notices)
	if err != nil {
		t.Fatal(err)
	}
	want := "message_id,mobile,content\r\n" +
		"R1-1-paid,13800138000,王芳您好，资助2000.00元已划拨。\r\n" +
		"R2-1-returned,13900139000,\"李强您好，\"\"卡已销户\"\",请更新\"\r\n"
	if string(data) != want {
		t.Errorf("got\n%q\nwant\n%q", data, want)
	}
	if again, _ := pipeline.RenderSMSFile(notices); string(again) != string(data) {
		t.Error("the same notices gave other bytes")
	}
}
