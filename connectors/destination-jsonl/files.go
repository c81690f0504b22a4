package main

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
)

// openAppend opens path for appending, creating it, and cuts off a torn
// last line: a crash may leave half a record after the last fsync, and
// appending after it would glue two records together. A file it creates
// has its directory fsynced at once: fsyncing the file alone does not make
// its name durable, and the states acknowledged later would then point at
// records in a file a crash can make vanish.
func openAppend(path string) (*os.File, error) {
	_, statErr := os.Lstat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		if err := syncDir(filepath.Dir(path)); err != nil {
			f.Close()
			return nil, fmt.Errorf("sync the directory of %s: %w", path, err)
		}
	}
	if err := repairTail(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("repair %s: %w", path, err)
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// repairTail truncates f after its last newline.
func repairTail(f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	buf := make([]byte, 64<<10)
	end := size
	for end > 0 {
		n := min(int64(len(buf)), end)
		if _, err := f.ReadAt(buf[:n], end-n); err != nil {
			return err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			end = end - n + int64(i) + 1
			break
		}
		end -= n
	}
	if end == size {
		return nil
	}
	if err := f.Truncate(end); err != nil {
		return err
	}
	return f.Sync()
}

// syncDir fsyncs a directory so a rename or a new file in it is durable.
// It is a variable for tests.
var syncDir = func(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// replace renames tmp over final and makes the rename durable.
func replace(tmp, final string) error {
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	return syncDir(filepath.Dir(final))
}

// idSource makes random version-4 UUIDs for _airbyte_ab_id. It is seeded
// once from the system's entropy and then runs in user space: reading
// crypto/rand for every record would cost a syscall each.
type idSource struct{ r *mrand.ChaCha8 }

func newIDSource() (*idSource, error) {
	var seed [32]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, err
	}
	return &idSource{r: mrand.NewChaCha8(seed)}, nil
}

// append appends a UUID in its 36-character text form.
func (s *idSource) append(b []byte) []byte {
	var u [16]byte
	binary.LittleEndian.PutUint64(u[:8], s.r.Uint64())
	binary.LittleEndian.PutUint64(u[8:], s.r.Uint64())
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var t [36]byte
	hex.Encode(t[0:8], u[0:4])
	t[8] = '-'
	hex.Encode(t[9:13], u[4:6])
	t[13] = '-'
	hex.Encode(t[14:18], u[6:8])
	t[18] = '-'
	hex.Encode(t[19:23], u[8:10])
	t[23] = '-'
	hex.Encode(t[24:], u[10:])
	return append(b, t[:]...)
}
