package pipeline

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// NoticeKind is why a member gets a message.
type NoticeKind = string

// The notices.
const (
	NoticePaid     NoticeKind = "paid"
	NoticeReturned NoticeKind = "returned"
)

// MessageID is <payment_ref>-paid or <payment_ref>-returned: unique forever,
// so no message is ever built twice.
func MessageID(paymentRef string, kind NoticeKind) string { return paymentRef + "-" + kind }

// SMSFileName is ZTSMS_<batch_id>_<n>.csv.
func SMSFileName(batchID string, n int) string { return fmt.Sprintf("ZTSMS_%s_%d.csv", batchID, n) }

// Notice is a message to one member.
type Notice struct {
	MessageID   string
	Kind        NoticeKind
	Mobile      string
	Name        string
	CardLast4   string
	AmountFen   int64
	BankMessage string
	PaymentRef  string
	Content     string
}

// SMSTemplates are the texts of the messages, from the configuration. They
// may use {name}, {amount}, {card_last4}, {payment_ref} and {bank_message}.
type SMSTemplates struct {
	Paid     string
	Returned string
}

// DefaultSMSTemplates are used when the configuration has none.
var DefaultSMSTemplates = SMSTemplates{
	Paid:     "【北京市总工会】{name}您好，您的职业发展助推计划资助{amount}元已划拨至尾号{card_last4}的京卡·互助服务卡。",
	Returned: "【北京市总工会】{name}您好，您的职业发展助推计划资助{amount}元未能划入尾号{card_last4}的京卡·互助服务卡（{bank_message}），请携带身份证和京卡到区县工会服务站更新卡信息。",
}

// smsPlaceholders are what a template may use.
var smsPlaceholders = []string{"{name}", "{amount}", "{card_last4}", "{payment_ref}", "{bank_message}"}

var placeholder = regexp.MustCompile(`\{[^{}]*\}`)

// Check refuses a template with a placeholder Render does not fill: a typo
// would reach every member's phone as it stands.
func (t SMSTemplates) Check() error {
	for _, tpl := range []struct{ key, text string }{{"paid", t.Paid}, {"returned", t.Returned}} {
		for _, p := range placeholder.FindAllString(tpl.text, -1) {
			if !slices.Contains(smsPlaceholders, p) {
				return fmt.Errorf("%s: unknown placeholder %s (known: %s)", tpl.key, p, strings.Join(smsPlaceholders, " "))
			}
		}
	}
	return nil
}

// Render returns a notice's text.
func (t SMSTemplates) Render(n *Notice) string {
	tpl := t.Paid
	if n.Kind == NoticeReturned {
		tpl = t.Returned
	}
	return strings.NewReplacer("{name}", n.Name, "{amount}", FormatFen(n.AmountFen), "{card_last4}", n.CardLast4,
		"{payment_ref}", n.PaymentRef, "{bank_message}", n.BankMessage).Replace(tpl)
}

// RenderSMSFile writes an SMS batch (§4.3): UTF-8 CSV, CRLF, header
// message_id,mobile,content. The same notices give the same bytes.
func RenderSMSFile(notices []Notice) ([]byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.UseCRLF = true
	if err := w.Write([]string{"message_id", "mobile", "content"}); err != nil {
		return nil, err
	}
	for _, n := range notices {
		if err := w.Write([]string{n.MessageID, n.Mobile, n.Content}); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return b.Bytes(), w.Error()
}
