package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"os"

	"github.com/ferrysync/ferry/protocol"
)

// winner is the line kept for one primary key.
type winner struct {
	line   int64
	cursor []byte
}

// dedupFile rewrites path keeping one line per primary key: the one with
// the greatest cursor, and among equal cursors (or without one) the last
// one written. Lines whose key is all null are kept, since they cannot be
// matched. Memory is one entry per key; lines are streamed twice.
func dedupFile(path string, keys [][]string, cursor []string) error {
	if len(keys) == 0 {
		return fmt.Errorf("append_dedup needs a primary key")
	}
	keep := make(map[string]winner)
	var keepAll []int64
	err := eachLine(path, func(n int64, line []byte) error {
		data, ok := member(line, []string{"_airbyte_data"})
		if !ok {
			return fmt.Errorf("line %d has no _airbyte_data", n+1)
		}
		var pk bytes.Buffer
		allNull := true
		for _, k := range keys {
			v, ok := member(data, k)
			if ok && string(v) != "null" {
				allNull = false
			}
			pk.Write(v)
			pk.WriteByte(0)
		}
		if allNull {
			keepAll = append(keepAll, n)
			return nil
		}
		var cur []byte
		if len(cursor) > 0 {
			cur, _ = member(data, cursor)
		}
		if w, ok := keep[pk.String()]; !ok || !cursorLess(cur, w.cursor) {
			keep[pk.String()] = winner{line: n, cursor: append([]byte(nil), cur...)}
		}
		return nil
	})
	if err != nil {
		return err
	}
	lines := make(map[int64]bool, len(keep)+len(keepAll))
	for _, w := range keep {
		lines[w.line] = true
	}
	for _, n := range keepAll {
		lines[n] = true
	}
	tmp := path + ".dedup.tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	err = eachLine(path, func(n int64, line []byte) error {
		if !lines[n] {
			return nil
		}
		bw.Write(line)
		return bw.WriteByte('\n')
	})
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return replace(tmp, path)
}

// eachLine calls fn with each line of path and its 0-based number.
func eachLine(path string, fn func(n int64, line []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := protocol.NewReader(f, 0)
	for n := int64(0); ; n++ {
		line, err := r.ReadLine()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(n, line); err != nil {
			return err
		}
	}
}

// member follows a path of object keys and returns the raw value.
func member(obj []byte, path []string) ([]byte, bool) {
	for _, k := range path {
		s, e, ok := protocol.MemberSpan(obj, k)
		if !ok {
			return nil, false
		}
		obj = obj[s:e]
	}
	return obj, true
}

// cursorLess reports whether cursor a sorts before b. Numbers compare as
// numbers and strings as strings; anything else, or a mix, is not less,
// so the later line wins.
func cursorLess(a, b []byte) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	if a[0] == '"' && b[0] == '"' {
		var sa, sb string
		if json.Unmarshal(a, &sa) == nil && json.Unmarshal(b, &sb) == nil {
			return sa < sb
		}
		return false
	}
	fa, okA := new(big.Float).SetString(string(a))
	fb, okB := new(big.Float).SetString(string(b))
	if okA && okB {
		return fa.Cmp(fb) < 0
	}
	return false
}
