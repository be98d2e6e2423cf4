package main

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"zhutui/pipeline"
)

// The floor's SQL checks of ID and card numbers say what zhutui's do, on
// valid numbers and on numbers with one character changed.
func TestFloorNumberChecks(t *testing.T) {
	db, err := sql.Open("sqlite3", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	idQuery := fmt.Sprintf(`SELECT substr('10X98765432', (%s) %% 11 + 1, 1) = substr(?1, 18, 1)`, idCheckSum("?1"))
	cardQuery := fmt.Sprintf(`SELECT (%s) %% 10 = 0`, luhnSum("?1"))
	rng := rand.New(rand.NewPCG(1, 2))
	digits := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + rng.IntN(10))
		}
		return string(b)
	}
	var valid, invalid int
	for range 2000 {
		id := "110105" + fmt.Sprintf("19%02d%02d%02d", rng.IntN(100), 1+rng.IntN(12), 1+rng.IntN(28)) + digits(3)
		id += string(pipeline.IDCheckChar(id))
		card := digits(15 + rng.IntN(4))
		card += string(pipeline.LuhnCheckDigit(card))
		for _, c := range []struct{ query, value string }{
			{idQuery, id}, {idQuery, mutate(rng, id, true)}, {cardQuery, card}, {cardQuery, mutate(rng, card, false)},
		} {
			want := pipeline.ValidCardNumber(c.value)
			if c.query == idQuery {
				want = pipeline.ValidIDNumber(c.value)
			}
			var got bool
			if err := db.QueryRow(c.query, c.value).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("floor says %v of %s, zhutui %v", got, c.value, want)
			}
			if want {
				valid++
			} else {
				invalid++
			}
		}
	}
	if valid < 4000 || invalid < 3000 {
		t.Fatalf("%d valid and %d invalid numbers: the test did not try both kinds", valid, invalid)
	}
}

// mutate changes one digit; the last character of an ID may become X.
func mutate(rng *rand.Rand, s string, id bool) string {
	b := []byte(s)
	i := rng.IntN(len(b))
	was := b[i]
	for b[i] == was {
		b[i] = "0123456789X"[rng.IntN(10+boolInt(id && i == 17))]
	}
	return string(b)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
