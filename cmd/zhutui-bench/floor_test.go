package main

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"zhutui/pipeline"
)

// The floor's rules 1 and 2 in SQL say what zhutui's ValidIDNumber and
// ValidCardNumber say: on valid numbers, on numbers with one character
// changed, and on the shapes each rule refuses.
func TestFloorNumberChecks(t *testing.T) {
	db, err := sql.Open("sqlite3", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	idQuery := `SELECT ` + validIDNumber("?1")
	cardQuery := `SELECT ` + validCardNumber("?1")
	check := func(query, value string, want bool) {
		t.Helper()
		var got bool
		if err := db.QueryRow(query, value).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("floor says %v of %q, zhutui %v", got, value, want)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	digits := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + rng.IntN(10))
		}
		return string(b)
	}
	withCheck := func(id17 string) string { return id17 + string(pipeline.IDCheckChar(id17)) }
	var valid, invalid int
	count := func(ok bool) {
		if ok {
			valid++
		} else {
			invalid++
		}
	}
	for range 2000 {
		id := withCheck("110105" + fmt.Sprintf("19%02d%02d%02d", rng.IntN(100), 1+rng.IntN(12), 1+rng.IntN(28)) + digits(3))
		card := digits(15 + rng.IntN(4))
		card += string(pipeline.LuhnCheckDigit(card))
		for _, v := range []string{id, mutate(rng, id, true)} {
			check(idQuery, v, pipeline.ValidIDNumber(v))
			count(pipeline.ValidIDNumber(v))
		}
		for _, v := range []string{card, mutate(rng, card, false)} {
			check(cardQuery, v, pipeline.ValidCardNumber(v))
			count(pipeline.ValidCardNumber(v))
		}
	}
	if valid < 4000 || invalid < 3000 {
		t.Fatalf("%d valid and %d invalid numbers: the test did not try both kinds", valid, invalid)
	}
	// The shapes refused whatever the check character or sum says.
	for _, v := range []string{
		withCheck("11010519900230123"),      // 30 February
		withCheck("11010519901301123"),      // month 13
		withCheck("11010518991231123"),      // before 1900
		withCheck("1101051990010112A"),      // a letter in the first 17
		withCheck("11010519900101123")[:17], // too short
	} {
		if pipeline.ValidIDNumber(v) {
			t.Fatalf("zhutui takes %q: not a shape rule 1 refuses", v)
		}
		check(idQuery, v, false)
	}
	luhn := func(s string) string { return s + string(pipeline.LuhnCheckDigit(s)) }
	for _, v := range []string{
		luhn("45395787636214"),      // 15 digits, the sum right
		luhn("4539578763621486000"), // 20 digits, the sum right
		"45395787636214a6",          // a letter
	} {
		if pipeline.ValidCardNumber(v) {
			t.Fatalf("zhutui takes %q: not a shape rule 2 refuses", v)
		}
		check(cardQuery, v, false)
	}
}

// mutate changes one character; the last character of an ID may become X.
func mutate(rng *rand.Rand, s string, id bool) string {
	chars := "0123456789"
	b := []byte(s)
	i := rng.IntN(len(b))
	if id && i == 17 {
		chars += "X"
	}
	for was := b[i]; b[i] == was; {
		b[i] = chars[rng.IntN(len(chars))]
	}
	return string(b)
}
