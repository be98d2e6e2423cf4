package localdir

import (
	"fmt"
	"os"
	"syscall"
	"time"
)

// stamp is a file's device, inode, size, mtime and ctime, or "" while its
// ctime is within FreshFor of now. The kernel keeps file times with a coarse
// clock (a few milliseconds; whole seconds on some filesystems), so a write
// just after the file was stamped and read could leave the same ctime: a
// file stamped that fresh is read again the next time, and stamped then.
func stamp(fi os.FileInfo) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	if time.Since(time.Unix(st.Ctim.Sec, st.Ctim.Nsec)) < FreshFor {
		return ""
	}
	return fmt.Sprintf("%d:%d:%d:%d.%09d:%d.%09d", st.Dev, st.Ino, st.Size,
		st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec)
}
