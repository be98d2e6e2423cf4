package pipeline

// Status is a registration's primary status: one of the reason codes of
// INTERFACES.md §3 while it is not payable, then ELIGIBLE and the money
// statuses as its payment moves.
type Status string

// The reason codes in the order they are checked; the first that applies is
// the primary status.
const (
	InvalidIDNumber        Status = "INVALID_ID_NUMBER"
	InvalidCardNumber      Status = "INVALID_CARD_NUMBER"
	InvalidName            Status = "INVALID_NAME"
	StationRejected        Status = "STATION_REJECTED"
	PendingVerification    Status = "PENDING_VERIFICATION"
	PendingCertificate     Status = "PENDING_CERTIFICATE"
	CertRevoked            Status = "CERT_REVOKED"
	IDMismatch             Status = "ID_MISMATCH"
	NameMismatch           Status = "NAME_MISMATCH"
	OccupationMismatch     Status = "OCCUPATION_MISMATCH"
	LevelMismatch          Status = "LEVEL_MISMATCH"
	IssueDateMismatch      Status = "ISSUE_DATE_MISMATCH"
	AuthorityNotEligible   Status = "AUTHORITY_NOT_ELIGIBLE"
	OccupationNotInCatalog Status = "OCCUPATION_NOT_IN_CATALOG"
	LevelNotCovered        Status = "LEVEL_NOT_COVERED"
	IssuedBeforeStart      Status = "ISSUED_BEFORE_START"
	RegisteredTooLate      Status = "REGISTERED_TOO_LATE"
	DuplicateCertificate   Status = "DUPLICATE_CERTIFICATE"
	PersonLevelLimit       Status = "PERSON_LEVEL_LIMIT"
)

// The statuses of a payable registration, following its payment.
const (
	Eligible Status = "ELIGIBLE"
	Batched  Status = "BATCHED"
	Sent     Status = "SENT"
	Paid     Status = "PAID"
	Returned Status = "RETURNED"
)

// ReasonOrder lists the reason codes in the order of INTERFACES.md §3.
var ReasonOrder = []Status{
	InvalidIDNumber, InvalidCardNumber, InvalidName, StationRejected,
	PendingVerification, PendingCertificate, CertRevoked, IDMismatch,
	NameMismatch, OccupationMismatch, LevelMismatch, IssueDateMismatch,
	AuthorityNotEligible, OccupationNotInCatalog, LevelNotCovered,
	IssuedBeforeStart, RegisteredTooLate, DuplicateCertificate, PersonLevelLimit,
}

// MoneyStatuses lists the statuses that hold money decided payable, in the
// order the money moves.
var MoneyStatuses = []Status{Eligible, Batched, Sent, Paid, Returned}

var statusText = map[Status]string{
	InvalidIDNumber:        "身份证号无效",
	InvalidCardNumber:      "京卡号无效",
	InvalidName:            "姓名无效",
	StationRejected:        "服务站核对未通过",
	PendingVerification:    "待服务站核对",
	PendingCertificate:     "鉴定中心暂无此证书",
	CertRevoked:            "证书已撤销",
	IDMismatch:             "身份证号与证书不符",
	NameMismatch:           "姓名与证书不符",
	OccupationMismatch:     "职业（工种）与证书不符",
	LevelMismatch:          "等级与证书不符",
	IssueDateMismatch:      "发证日期与证书不符",
	AuthorityNotEligible:   "发证机构不属于本市鉴定系统",
	OccupationNotInCatalog: "职业（工种）不在目录内",
	LevelNotCovered:        "该职业此等级不在资助范围",
	IssuedBeforeStart:      "发证日期早于计划开始日期",
	RegisteredTooLate:      "超过半年登记期限",
	DuplicateCertificate:   "同一证书已有在先登记",
	PersonLevelLimit:       "本人已获同等级资助",
	Eligible:               "符合条件，待划拨",
	Batched:                "已编入划拨批次",
	Sent:                   "已发送银行",
	Paid:                   "已划拨",
	Returned:               "银行退回",
}

// Text returns the Chinese description of a status for reports.
func (s Status) Text() string { return statusText[s] }
