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

// Render returns a notice's text: the template with each placeholder
// replaced by the notice's value (values are not scanned again). A results
// night renders hundreds of thousands, so the template is walked by hand
// rather than through a strings.Replacer built for every notice.
func (t SMSTemplates) Render(n *Notice) string {
	tpl := t.Paid
	if n.Kind == NoticeReturned {
		tpl = t.Returned
	}
	var b strings.Builder
	b.Grow(len(tpl) + len(n.Name) + len(n.BankMessage) + 32)
	for {
		i := strings.IndexByte(tpl, '{')
		if i < 0 {
			b.WriteString(tpl)
			return b.String()
		}
		b.WriteString(tpl[:i])
		tpl = tpl[i:]
		switch {
		case strings.HasPrefix(tpl, "{name}"):
			b.WriteString(n.Name)
		case strings.HasPrefix(tpl, "{amount}"):
			b.WriteString(FormatFen(n.AmountFen))
		case strings.HasPrefix(tpl, "{card_last4}"):
			b.WriteString(n.CardLast4)
		case strings.HasPrefix(tpl, "{payment_ref}"):
			b.WriteString(n.PaymentRef)
		case strings.HasPrefix(tpl, "{bank_message}"):
			b.WriteString(n.BankMessage)
		default:
			b.WriteByte('{')
			tpl = tpl[1:]
			continue
		}
		tpl = tpl[strings.IndexByte(tpl, '}')+1:]
	}
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
