package protocol

import "github.com/ferrysync/ferry/protocol/internal/jsonscan"

// MemberSpan finds the top-level member key of the JSON object in line and
// returns the byte span [start, end) of its value, or ok=false when the line
// is not an object or has no such member. Forwarders use it to splice
// members in or rewrite one value while keeping every other byte as the
// connector wrote it (docs/protocol.md 2.0).
func MemberSpan(line []byte, key string) (start, end int, ok bool) {
	s := jsonscan.Scanner{Buf: line}
	s.SkipSpace()
	if !s.Eat('{') {
		return 0, 0, false
	}
	err := s.Members(func(k []byte) error {
		s.SkipSpace()
		at := s.Pos
		if err := s.Skip(0); err != nil {
			return err
		}
		if !ok && string(k) == key {
			start, end, ok = at, s.Pos, true
		}
		return nil
	})
	if err != nil {
		return 0, 0, false
	}
	return start, end, ok
}
