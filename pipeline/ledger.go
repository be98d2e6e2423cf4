package pipeline

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"strconv"
)

// Account is a ledger account. The programme account is where money decided
// payable comes from; each money status has an account holding exactly the
// money of the payments in that status.
type Account string

// The ledger's accounts.
const (
	AccountProgramme Account = "programme"
	AccountEligible  Account = "eligible"
	AccountBatched   Account = "batched"
	AccountSent      Account = "sent"
	AccountPaid      Account = "paid"
	AccountReturned  Account = "returned"
)

// StatusAccount maps a money status to the account holding its money.
var StatusAccount = map[Status]Account{
	Eligible: AccountEligible, Batched: AccountBatched, Sent: AccountSent, Paid: AccountPaid, Returned: AccountReturned,
}

// Movement names why money moved.
type Movement string

// The movements, each a posting from one account to another.
const (
	MoveDecide   Movement = "decide"   // programme -> eligible: a registration became payable
	MoveWithdraw Movement = "withdraw" // eligible -> programme: it stopped being payable before a batch
	MoveBatch    Movement = "batch"    // eligible -> batched
	MoveUnbatch  Movement = "unbatch"  // batched -> eligible: its batch was rejected
	MoveSend     Movement = "send"     // batched -> sent: the payment file was delivered
	MoveSettle   Movement = "settle"   // sent -> paid: the bank confirmed it
	MoveReturn   Movement = "return"   // sent -> returned: the bank returned it
	MoveRelease  Movement = "release"  // returned -> programme: a returned attempt is closed for the next one
)

// Posting is a balanced double entry: Amount debited to Debit and credited to
// Credit. Money moves from Credit to Debit.
type Posting struct {
	Movement   Movement
	PaymentRef string
	Debit      Account
	Credit     Account
	AmountFen  int64
	BatchID    string
	Memo       string
}

// The account money comes from and goes to in each movement.
var movementAccounts = map[Movement][2]Account{ // debit, credit
	MoveDecide:   {AccountEligible, AccountProgramme},
	MoveWithdraw: {AccountProgramme, AccountEligible},
	MoveBatch:    {AccountBatched, AccountEligible},
	MoveUnbatch:  {AccountEligible, AccountBatched},
	MoveSend:     {AccountSent, AccountBatched},
	MoveSettle:   {AccountPaid, AccountSent},
	MoveReturn:   {AccountReturned, AccountSent},
	MoveRelease:  {AccountProgramme, AccountReturned},
}

// NewPosting returns the posting of a movement of one payment.
func NewPosting(m Movement, paymentRef string, amountFen int64, batchID, memo string) Posting {
	a := movementAccounts[m]
	return Posting{Movement: m, PaymentRef: paymentRef, Debit: a[0], Credit: a[1], AmountFen: amountFen, BatchID: batchID, Memo: memo}
}

// Valid reports whether a posting is a movement the ledger knows, between the
// accounts of that movement, of a positive amount.
func (p Posting) Valid() bool {
	a, ok := movementAccounts[p.Movement]
	return ok && a[0] == p.Debit && a[1] == p.Credit && p.AmountFen > 0 && p.PaymentRef != ""
}

// Entry is a posting as recorded in the chain. Its hash covers the hash of
// the entry before it (GenesisHash for the first).
type Entry struct {
	Seq   int64
	At    string // Beijing time
	RunID int64
	Posting
	Hash string
}

// GenesisHash is the previous hash of the first entry.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// Chain computes entry hashes: HMAC-SHA-256, under a key kept outside the
// database, over the previous hash and the entry's canonical bytes (every
// field length-prefixed, the sequence number included), so that no field can
// be changed, moved into another or dropped without breaking every later
// hash. A Chain is not safe for concurrent use.
type Chain struct {
	mac hash.Hash
	buf []byte
}

// NewChain returns a Chain for a key.
func NewChain(key []byte) *Chain {
	return &Chain{mac: hmac.New(sha256.New, key)}
}

// Hash returns the hash of e chained to prev.
func (c *Chain) Hash(prev string, e *Entry) string {
	b := c.buf[:0]
	for _, f := range []string{prev, strconv.FormatInt(e.Seq, 10), e.At, strconv.FormatInt(e.RunID, 10),
		string(e.Movement), e.PaymentRef, string(e.Debit), string(e.Credit), strconv.FormatInt(e.AmountFen, 10),
		e.BatchID, e.Memo} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	c.buf = b
	c.mac.Reset()
	c.mac.Write(b)
	return hex.EncodeToString(c.mac.Sum(nil))
}

// KeyCheck returns a fingerprint of a ledger key, stored with the ledger so
// that a wrong key is told apart from a tampered entry.
func KeyCheck(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("zhutui ledger key check"))
	return hex.EncodeToString(m.Sum(nil))[:16]
}

// LedgerReport is what verifying the ledger found.
type LedgerReport struct {
	Entries  int64
	HeadHash string
	Balances map[Account]int64 // debit-positive, in fen
	Problems []string          // empty when everything holds
	FirstBad int64             // the first entry that does not verify, 0 when none
}

// OK reports whether the ledger verified.
func (r *LedgerReport) OK() bool { return len(r.Problems) == 0 }
