//go:build race

package main_test

// Under the race detector (go test -race), the end-to-end tests run a zhutui
// built with it too, so that a data race in a run fails the test that ran it
// (a raced binary exits 66 when it found one).
func init() { buildFlags = append(buildFlags, "-race") }
