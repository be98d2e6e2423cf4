package pipeline

import (
	"strings"
	"unicode"

	"golang.org/x/text/width"
)

// The normalisers of INTERFACES.md §3. Every comparison between a registration
// and the certificate feed, and every key used to find duplicates, goes through
// them. They are pure functions, safe for concurrent use.

// NormalizeText trims spaces (including the ideographic space U+3000) and maps
// full-width ASCII to half-width.
func NormalizeText(s string) string {
	if needsFold(s) {
		s = width.Fold.String(s)
	}
	return strings.TrimFunc(s, unicode.IsSpace)
}

// needsFold reports whether width.Fold could change s: only the ideographic
// space and the halfwidth and fullwidth forms block (U+FF00-U+FFEF) have
// other-width variants it folds to. Most text has none, and skipping Fold
// for it saves most of a registration's normalising time.
func needsFold(s string) bool {
	for _, r := range s {
		if r == '\u3000' || (r >= 0xFF00 && r <= 0xFFEF) {
			return true
		}
	}
	return false
}

// NormalizeIDNumber normalises a resident ID number: NormalizeText, then a
// lower-case check character x becomes X.
func NormalizeIDNumber(s string) string {
	return strings.ToUpper(NormalizeText(s))
}

// nameDots are the middle-dot look-alikes typed in names of ethnic-minority or
// foreign members; they all become U+00B7.
var nameDots = strings.NewReplacer("•", "·", "・", "·", "‧", "·", "．", "·", "･", "·")

// NormalizeName normalises a person's name: the middle dots first (the
// full-width full stop would otherwise become an ASCII '.'), then NormalizeText.
func NormalizeName(s string) string {
	return NormalizeText(nameDots.Replace(s))
}

// NormalizeOccupation normalises an occupation name: NormalizeText (which turns
// （） into ()) and no spaces inside.
func NormalizeOccupation(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, NormalizeText(s))
}

// NormalizeCertificateNumber is the key certificates are matched by:
// NormalizeText, upper case, no spaces inside.
func NormalizeCertificateNumber(s string) string {
	return strings.ToUpper(NormalizeOccupation(s))
}

// NormalizeCardNumber removes the spaces and hyphens people type between
// groups of digits; the result is what the bank file carries. It does not
// validate: see ValidCardNumber.
func NormalizeCardNumber(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || unicode.IsSpace(r) {
			return -1
		}
		return r
	}, NormalizeText(s))
}

// NormalizeMobile reduces a mobile number to its 11 digits: spaces and hyphens
// go, as does a leading +86 or 86 country code. It returns "" when what is left
// is not a mainland mobile number (11 digits starting with 1).
func NormalizeMobile(s string) string {
	d := NormalizeCardNumber(s)
	d = strings.TrimPrefix(d, "+")
	if len(d) == 13 && strings.HasPrefix(d, "86") {
		d = d[2:]
	}
	if len(d) != 11 || d[0] != '1' || !allDigits(d) {
		return ""
	}
	return d
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
