package main

import (
	"runtime/debug"
	"testing"
)

// TestGCPercent: zhutui sets the collector's target to gcPercent, unless
// $GOGC says otherwise.
func TestGCPercent(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "")
	setGCPercent()
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Errorf("without $GOGC the target is %d, want %d", got, gcPercent)
	}
	t.Setenv("GOGC", "50")
	setGCPercent()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with $GOGC set, zhutui changed the target to %d", got)
	}
}
