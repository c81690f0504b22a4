package protobuf

// TextForm says how the text of a date or time value departs from the
// canonical RFC 3339 form Ferry's decoder writes: 'T' between date and
// time, seconds always, the fraction as short as the value allows (none
// for whole seconds), Z for UTC and ±HH:MM otherwise. The zero TextForm
// is the canonical form.
//
// Airbyte's typed temporal members hold the value (the instant and its
// offset) but not its text: 2021-01-01T10:00:00+00:00 and
// 2021-01-01T10:00:00Z are one OffsetDateTime. So that a destination gets
// the text the source wrote, as in stdio mode, the encoder sends the form
// of a value that is not canonical in Ferry's extension of the value
// message (extension.go). It fits a byte for the forms sources commonly
// write.
type TextForm uint16

// The bits of a TextForm.
const (
	// formOffset holds the offset's style, one of the offset* values.
	formOffset TextForm = 7
	// formNegZero marks a UTC offset written with '-' (-00:00, RFC 3339's
	// "offset unknown").
	formNegZero TextForm = 1 << 3
	// formSep holds the date-time separator, one of the sep* values.
	formSep TextForm = 3 << 4
	// formNoSeconds marks a time written HH:MM.
	formNoSeconds TextForm = 1 << 6
	// formFrac holds the number of fraction digits written, plus one,
	// when it is more than the value needs (trailing zeros); 0 otherwise.
	formFrac      TextForm = 15 << formFracShift
	formFracShift          = 7

	formAll = formOffset | formNegZero | formSep | formNoSeconds | formFrac
)

// Offset styles.
const (
	offsetCanonical TextForm = iota // Z for UTC, else ±HH:MM
	offsetLowerZ                    // z
	offsetColon                     // ±HH:MM, UTC included (+00:00)
	offsetCompact                   // ±HHMM
	offsetHours                     // ±HH
	offsetNone                      // none: a *_with_timezone value taken as UTC
)

// Date-time separators.
const (
	sepLowerT TextForm = 1 << 4 // 't'
	sepSpace  TextForm = 2 << 4 // ' '
)

// TemporalForm returns the form of text, a value of a property of the
// given kind, or false when text is not such a value (or the kind is not
// a date or time). A source that emits typed values directly
// (RecordValues) uses it to write the text its JSON records carry.
func TemporalForm(kind ValueKind, text string) (TextForm, bool) {
	b := []byte(text)
	switch kind {
	case KindDate:
		if _, n, ok := parseDate(b); ok && n == len(b) {
			return 0, true
		}
	case KindTimeWithoutTimezone:
		if _, _, form, has, ok := parseTimeOfDay(b); ok && !has {
			return form, true
		}
	case KindTimeWithTimezone:
		if _, _, form, has, ok := parseTimeOfDay(b); ok {
			return withOffset(form, has), true
		}
	case KindTimestampWithoutTimezone:
		if _, _, _, form, has, ok := parseDateTime(b); ok && !has {
			return form, true
		}
	case KindTimestampWithTimezone:
		if _, _, _, form, has, ok := parseDateTime(b); ok {
			return withOffset(form, has), true
		}
	}
	return 0, false
}

// withOffset marks a *_with_timezone value written without an offset,
// which the typed member holds as UTC.
func withOffset(form TextForm, hasOffset bool) TextForm {
	if !hasOffset {
		form |= offsetNone
	}
	return form
}
