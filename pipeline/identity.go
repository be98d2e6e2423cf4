package pipeline

import (
	"strings"
	"time"
)

// idWeights are the GB 11643-1999 weights of the first 17 characters.
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// idCheckChars maps the weighted sum modulo 11 to the check character.
const idCheckChars = "10X98765432"

// ValidIDNumber reports whether a normalised ID number is an 18-character
// resident ID with a real birth date (from 1900 on) and the right GB 11643
// check character.
func ValidIDNumber(id string) bool {
	if len(id) != 18 || !allDigits(id[:17]) {
		return false
	}
	birth, err := time.Parse("20060102", id[6:14])
	if err != nil || birth.Year() < 1900 {
		return false
	}
	sum := 0
	for i, w := range idWeights {
		sum += int(id[i]-'0') * w
	}
	return id[17] == idCheckChars[sum%11]
}

// IDCheckChar returns the GB 11643 check character for the first 17 digits of
// an ID number. It is used by the data generator and by tests.
func IDCheckChar(first17 string) byte {
	sum := 0
	for i, w := range idWeights {
		sum += int(first17[i]-'0') * w
	}
	return idCheckChars[sum%11]
}

// ValidCardNumber reports whether a normalised card number has 16 to 19 digits
// and passes the Luhn check.
func ValidCardNumber(card string) bool {
	if len(card) < 16 || len(card) > 19 || !allDigits(card) {
		return false
	}
	return luhnSum(card)%10 == 0
}

// LuhnCheckDigit returns the digit that makes digits+check Luhn-valid.
func LuhnCheckDigit(digits string) byte {
	return byte('0' + (10-luhnSum(digits+"0")%10)%10)
}

func luhnSum(digits string) int {
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum
}

// MaskID masks an ID number as 110105********123X: the first six and last
// four characters stay. A value too short to hide at least four characters that
// way keeps less, so that at least half of it is hidden.
func MaskID(s string) string { return mask(s, 6, 4) }

// MaskCard masks a card number as 621067*********4567.
func MaskCard(s string) string { return mask(s, 6, 4) }

// MaskMobile masks a mobile number as 138****5678.
func MaskMobile(s string) string { return mask(s, 3, 4) }

func mask(s string, head, tail int) string {
	r := []rune(s)
	if len(r) == 0 {
		return ""
	}
	for len(r)-head-tail < 4 && head+tail > len(r)/2 {
		if head > 0 {
			head--
		} else {
			tail--
		}
	}
	return string(r[:head]) + strings.Repeat("*", len(r)-head-tail) + string(r[len(r)-tail:])
}
