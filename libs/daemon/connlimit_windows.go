package daemon

// openFilesLimit is 0 on Windows: a process has no open-files limit there
// (sockets are handles, limited by memory only).
func openFilesLimit() uint64 { return 0 }
