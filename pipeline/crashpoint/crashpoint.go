// Package crashpoint lets tests kill the process at a named point, as a power
// cut or kill -9 would: $ZHUTUI_CRASH_AT names the point, optionally with
// #N to crash the Nth time it is reached (stage:deliver:before,
// ingest:row#500, ledger:post#3). $ZHUTUI_PAUSE_AT (a point, #N alike)
// instead holds the process there until the file $ZHUTUI_PAUSE_FILE exists,
// having created $ZHUTUI_PAUSE_FILE.waiting. Unset, a point costs one string
// comparison.
package crashpoint

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

var (
	target, nth       = parse(os.Getenv("ZHUTUI_CRASH_AT"))
	pauseAt, pauseNth = parse(os.Getenv("ZHUTUI_PAUSE_AT"))
	pauseFile         = os.Getenv("ZHUTUI_PAUSE_FILE")
	mu                sync.Mutex
	seen, pauseSeen   int
)

func parse(v string) (string, int) {
	name, n, ok := strings.Cut(v, "#")
	if !ok {
		return v, 1
	}
	i, err := strconv.Atoi(n)
	if err != nil || i < 1 {
		return name, 1
	}
	return name, i
}

// Here kills the process with SIGKILL when name is the configured point and
// it has been reached the configured number of times.
func Here(name string) {
	if pauseAt != "" && name == pauseAt && pauseFile != "" && count(&pauseSeen) == pauseNth {
		os.WriteFile(pauseFile+".waiting", nil, 0o644)
		for {
			if _, err := os.Stat(pauseFile); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if target == "" || name != target {
		return
	}
	if count(&seen) == nth {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // never returns
	}
}

// count adds one to a point's count and returns it.
func count(n *int) int {
	mu.Lock()
	defer mu.Unlock()
	*n++
	return *n
}
