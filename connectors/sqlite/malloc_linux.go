//go:build linux && cgo

package sqlite

// SQLite allocates its page caches with malloc on whichever thread runs the
// statement. glibc gives threads arenas of their own (up to eight per core),
// and memory freed in one arena is not reused by another, so a night's peak
// RSS grew with every connection that had once filled its cache. One arena
// per core (at least two) is set when the program is loaded, before any
// thread starts; $MALLOC_ARENA_MAX, when set, is left to decide.

/*
#include <malloc.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((constructor)) static void zhutui_limit_arenas(void) {
#ifdef M_ARENA_MAX
	if (getenv("MALLOC_ARENA_MAX") == NULL) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		mallopt(M_ARENA_MAX, n < 2 ? 2 : (int)n);
	}
#endif
}
*/
import "C"
