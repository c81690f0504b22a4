package protocol

// MemberSpan finds the top-level member key of the JSON object in line and
// returns the byte span [start, end) of its value, or ok=false when the line
// is not an object or has no such member. Forwarders use it to splice
// members in or rewrite one value while keeping every other byte as the
// connector wrote it (PROTOCOL.md 2.0).
func MemberSpan(line []byte, key string) (start, end int, ok bool) {
	s := scanner{b: line}
	s.ws()
	if !s.eat('{') {
		return 0, 0, false
	}
	err := s.members(func(k []byte) error {
		s.ws()
		at := s.i
		if err := s.skipValue(0); err != nil {
			return err
		}
		if !ok && string(k) == key {
			start, end, ok = at, s.i, true
		}
		return nil
	})
	if err != nil {
		return 0, 0, false
	}
	return start, end, ok
}
