package daemon

// LockDataDir takes the data dir's lock as ferry serve does, for commands
// that must not run beside a daemon on the same data dir (ferry store
// copy reads its database whole). It fails, naming the holder, while a
// daemon runs there; release drops the lock.
func LockDataDir(dir string) (release func(), err error) {
	l, err := lockDataDir(dir)
	if err != nil {
		return nil, err
	}
	return l.release, nil
}
