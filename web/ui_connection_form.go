package web

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/store"
)

// The connection builder's form, apart from its pages: what a user chose
// (connForm), read from a stored connection or from a posted form, checked
// against the discovered catalog and the destination's write modes, and
// turned into the store.Connection that the API's create and update store
// too. Inputs are named by dotted paths, as the spec forms' are:
// streams.<i>.syncMode, streams.<i>.cursor, schedule.cron, ...; each
// error is filed under the name of the input it belongs next to.

// connForm is what the builder's inputs say.
type connForm struct {
	Name          string
	SourceID      string
	DestinationID string
	// Streams are the choices per stream, keyed by descriptor.
	Streams             map[protocol.StreamDescriptor]*streamChoice
	NamespaceDefinition string // source, destination or customformat
	NamespaceFormat     string
	Prefix              string
	ScheduleType        string // manual, interval or cron
	IntervalValue       string
	IntervalUnit        string // minutes, hours or days
	Cron                string
	Timezone            string
	DataChannel         string // auto or stdio
	SocketCount         string
	// Errors are messages by input name; "form" is a message for the whole.
	Errors map[string]string
}

// streamChoice is what the inputs of one stream say.
type streamChoice struct {
	Selected   bool
	SyncMode   string // an Airbyte name: incremental_append, ...
	Cursor     string // a top-level field; empty with a source-defined cursor
	PrimaryKey []string
	// Fields are the selected top-level fields; nil keeps every field.
	Fields []string
}

func (f *connForm) addError(name, msg string) {
	if _, ok := f.Errors[name]; !ok {
		f.Errors[name] = msg
	}
}

// intervalUnits are the interval schedule's units, in seconds.
var intervalUnits = []struct {
	name    string
	seconds int64
}{{"minutes", 60}, {"hours", 3600}, {"days", 86400}}

// newConnForm is the form of a new connection: every stream chosen in its
// default mode, as Airbyte's UI proposes, daily at midnight UTC as a cron
// example left unused under a manual schedule.
func newConnForm(srcID, dstID string, cat *protocol.Catalog) *connForm {
	f := &connForm{SourceID: srcID, DestinationID: dstID, Streams: map[protocol.StreamDescriptor]*streamChoice{},
		NamespaceDefinition: string(protocol.NamespaceDestination), ScheduleType: string(store.ScheduleManual),
		IntervalValue: "24", IntervalUnit: "hours", Timezone: "UTC", DataChannel: "auto", Errors: map[string]string{}}
	if cat != nil {
		for _, st := range cat.Streams {
			f.Streams[st.Descriptor()] = defaultChoice(st, true)
		}
	}
	return f
}

// defaultChoice is a stream's choice in its default configuration.
func defaultChoice(st protocol.Stream, selected bool) *streamChoice {
	return choiceOf(defaultStream(st), selected)
}

func choiceOf(cs protocol.ConfiguredStream, selected bool) *streamChoice {
	ch := &streamChoice{Selected: selected, SyncMode: joinSyncMode(cs.SyncMode, cs.DestinationSyncMode)}
	if !cs.Stream.SourceDefinedCursor {
		ch.Cursor = strings.Join(cs.CursorField, ".")
	}
	if len(cs.Stream.SourceDefinedPrimaryKey) == 0 {
		for _, k := range cs.PrimaryKey {
			ch.PrimaryKey = append(ch.PrimaryKey, strings.Join(k, "."))
		}
	}
	return ch
}

// connFormOf is the form of a stored connection. Discovered streams it
// does not sync are offered unselected, in their default mode.
func connFormOf(c *store.Connection, cat *protocol.Catalog) *connForm {
	f := newConnForm(c.SourceID, c.DestinationID, nil)
	f.Name, f.Prefix, f.NamespaceFormat = c.Name, c.Prefix, c.NamespaceFormat
	f.NamespaceDefinition = string(c.NamespaceDefinition)
	if cat != nil {
		for _, st := range cat.Streams {
			f.Streams[st.Descriptor()] = defaultChoice(st, false)
		}
	}
	for _, cs := range c.Catalog.Streams {
		ch := choiceOf(cs, true)
		for _, sf := range c.SelectedFields {
			if sf.Stream == cs.Stream.Descriptor() {
				ch.Fields = slices.Clone(sf.Fields)
			}
		}
		f.Streams[cs.Stream.Descriptor()] = ch
	}
	sc := c.Schedule
	f.ScheduleType, f.Cron = string(sc.Type), sc.Cron
	if sc.Timezone != "" {
		f.Timezone = sc.Timezone
	}
	if sc.Type == store.ScheduleInterval {
		f.IntervalValue, f.IntervalUnit = strconv.FormatInt(sc.IntervalSeconds, 10), "seconds"
		for i := len(intervalUnits) - 1; i >= 0; i-- {
			if u := intervalUnits[i]; sc.IntervalSeconds%u.seconds == 0 {
				f.IntervalValue, f.IntervalUnit = strconv.FormatInt(sc.IntervalSeconds/u.seconds, 10), u.name
				break
			}
		}
	}
	if c.ForceStdio {
		f.DataChannel = "stdio"
	}
	if c.SocketCount != nil {
		f.SocketCount = strconv.Itoa(*c.SocketCount)
	}
	return f
}

// readConnForm reads a posted builder form. Streams are matched by the
// name and namespace each row posts, not by its index, so a catalog that
// changed between showing and posting cannot shift a choice onto another
// stream.
func readConnForm(v url.Values) *connForm {
	get := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	f := &connForm{Name: get("name"), SourceID: get("sourceId"), DestinationID: get("destinationId"),
		Streams: map[protocol.StreamDescriptor]*streamChoice{}, NamespaceDefinition: get("namespaceDefinition"),
		NamespaceFormat: get("namespaceFormat"), Prefix: get("prefix"), ScheduleType: get("schedule.type"),
		IntervalValue: get("schedule.interval"), IntervalUnit: get("schedule.unit"), Cron: get("schedule.cron"),
		Timezone: get("schedule.timezone"), DataChannel: get("dataChannel"), SocketCount: get("socketCount"),
		Errors: map[string]string{}}
	for i := 0; ; i++ {
		p := "streams." + strconv.Itoa(i) + "."
		name, ok := v[p+"name"]
		if !ok {
			break
		}
		d := protocol.StreamDescriptor{Name: name[0], Namespace: v.Get(p + "namespace")}
		ch := &streamChoice{Selected: v.Get(p+"selected") != "", SyncMode: v.Get(p + "syncMode"),
			Cursor: v.Get(p + "cursor"), PrimaryKey: nonEmpty(v[p+"primaryKey"])}
		if v.Get(p+"fieldsShown") != "" {
			ch.Fields = nonEmpty(v[p+"fields"])
			if ch.Fields == nil {
				ch.Fields = []string{}
			}
		}
		f.Streams[d] = ch
	}
	return f
}

func nonEmpty(vs []string) []string {
	var out []string
	for _, s := range vs {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// schedule is the form's schedule, or an error filed under its input.
func (f *connForm) schedule() (store.Schedule, bool) {
	sc := store.Schedule{Type: store.ScheduleType(f.ScheduleType)}
	switch sc.Type {
	case store.ScheduleManual:
	case store.ScheduleInterval:
		n, err := strconv.ParseInt(f.IntervalValue, 10, 64)
		if err != nil || n < 1 {
			f.addError("schedule.interval", "must be a whole number, 1 or more")
			return sc, false
		}
		unit := int64(0)
		for _, u := range intervalUnits {
			if u.name == f.IntervalUnit {
				unit = u.seconds
			}
		}
		if f.IntervalUnit == "seconds" {
			unit = 1
		}
		if unit == 0 {
			f.addError("schedule.interval", "choose minutes, hours or days")
			return sc, false
		}
		if n > store.MaxIntervalSeconds/unit {
			f.addError("schedule.interval", "is longer than ten years")
			return sc, false
		}
		sc.IntervalSeconds = n * unit
	case store.ScheduleCron:
		sc.Cron, sc.Timezone = f.Cron, f.Timezone
		if sc.Cron == "" {
			f.addError("schedule.cron", "is required with a cron schedule")
			return sc, false
		}
	default:
		f.addError("schedule.type", "choose manual, interval or cron")
		return sc, false
	}
	if err := sc.Validate(); err != nil {
		f.fileStoreError(err)
		return sc, false
	}
	return sc, true
}

// storeFields maps the store's and the API's field names to the inputs
// their errors are shown next to.
var storeFields = map[string]string{
	"name": "name", "namespaceDefinition": "namespaceDefinition", "namespaceFormat": "namespaceFormat",
	"prefix": "prefix", "socketCount": "socketCount", "schedule.cronExpression": "schedule.cron",
	"schedule.timezone": "schedule.timezone", "schedule.intervalSeconds": "schedule.interval",
	"schedule.scheduleType": "schedule.type", "schedule": "schedule.type", "sourceId": "sourceId",
	"destinationId": "destinationId",
}

// fileStoreError files a *store.ValidationError under its input; others
// under the whole form.
func (f *connForm) fileStoreError(err error) {
	ve, ok := err.(*store.ValidationError)
	if !ok {
		f.addError("form", err.Error())
		return
	}
	if name, ok := storeFields[ve.Field]; ok {
		f.addError(name, ve.Message)
		return
	}
	f.addError("form", ve.Field+": "+ve.Message)
}

// formTarget is what a valid form describes: the connection's catalog
// and settings, ready for the store.
type formTarget struct {
	catalog  *protocol.ConfiguredCatalog
	selected []store.SelectedFields
	schedule store.Schedule
}

// check validates the form against the discovered catalog and the
// destination's write modes (nil: the destination does not say), filing
// every problem under its input, and returns what it describes.
func (f *connForm) check(cat *protocol.Catalog, writes []string) (*formTarget, bool) {
	t := &formTarget{catalog: &protocol.ConfiguredCatalog{}}
	if f.SourceID == "" {
		f.addError("sourceId", "choose a source")
	}
	if f.DestinationID == "" {
		f.addError("destinationId", "choose a destination")
	}
	if cat != nil {
		for i, st := range cat.Streams {
			ch := f.Streams[st.Descriptor()]
			if ch == nil || !ch.Selected {
				continue
			}
			cs, sf := f.checkStream(fmt.Sprintf("streams.%d.", i), st, ch, writes)
			if cs != nil {
				t.catalog.Streams = append(t.catalog.Streams, *cs)
			}
			if sf != nil {
				t.selected = append(t.selected, *sf)
			}
		}
		if len(t.catalog.Streams) == 0 && len(f.Errors) == 0 {
			f.addError("streams", "select at least one stream")
		}
	}
	switch protocol.NamespaceDefinition(f.NamespaceDefinition) {
	case protocol.NamespaceSource, protocol.NamespaceDestination:
	case protocol.NamespaceCustomFormat:
		if f.NamespaceFormat == "" {
			f.addError("namespaceFormat", "is required with a custom namespace")
		}
	default:
		f.addError("namespaceDefinition", "choose source, destination or custom")
	}
	if f.DataChannel != "auto" && f.DataChannel != "stdio" {
		f.addError("dataChannel", "choose auto or stdio")
	}
	if f.SocketCount != "" {
		if n, err := strconv.Atoi(f.SocketCount); err != nil || n < 1 || n > 64 {
			f.addError("socketCount", "must be a whole number from 1 to 64, or empty to compute it")
		}
	}
	t.schedule, _ = f.schedule()
	return t, len(f.Errors) == 0
}

// checkStream checks one selected stream and returns its configuration
// and field selection.
func (f *connForm) checkStream(p string, st protocol.Stream, ch *streamChoice, writes []string) (*protocol.ConfiguredStream, *store.SelectedFields) {
	mode, dest, ok := splitSyncMode(ch.SyncMode)
	if !ok || !slices.Contains(modesFor(&st, writes), ch.SyncMode) {
		f.addError(p+"syncMode", fmt.Sprintf("choose one of %s", strings.Join(modesFor(&st, writes), ", ")))
		return nil, nil
	}
	fields := fieldNames(st.JSONSchema)
	cs := &protocol.ConfiguredStream{Stream: st, SyncMode: mode, DestinationSyncMode: dest}
	if mode == protocol.SyncIncremental {
		switch {
		case st.SourceDefinedCursor:
			cs.CursorField = st.DefaultCursorField
		case ch.Cursor == "":
			f.addError(p+"cursor", "an incremental sync needs a cursor: choose the field that grows with each change")
		case len(fields) > 0 && !slices.Contains(fields, ch.Cursor):
			f.addError(p+"cursor", fmt.Sprintf("%q is not a top-level field of the stream", ch.Cursor))
		default:
			cs.CursorField = []string{ch.Cursor}
		}
	}
	if len(st.SourceDefinedPrimaryKey) > 0 {
		cs.PrimaryKey = st.SourceDefinedPrimaryKey
	} else {
		for _, k := range ch.PrimaryKey {
			if len(fields) > 0 && !slices.Contains(fields, k) {
				f.addError(p+"primaryKey", fmt.Sprintf("%q is not a top-level field of the stream", k))
				continue
			}
			cs.PrimaryKey = append(cs.PrimaryKey, []string{k})
		}
	}
	if strings.Contains(dest, "dedup") && len(cs.PrimaryKey) == 0 {
		f.addError(p+"primaryKey", "a deduped sync needs a primary key: choose its fields")
	}
	var sf *store.SelectedFields
	if ch.Fields != nil && len(ch.Fields) < len(fields) {
		sf = &store.SelectedFields{Stream: st.Descriptor(), Fields: ch.Fields}
		if len(ch.Fields) == 0 {
			f.addError(p+"fields", "select at least one field")
		}
		// Airbyte keeps the cursor and the key in every selection: without
		// them the destination could not order or dedupe the records.
		var need []string
		for _, k := range cs.PrimaryKey {
			need = append(need, k[0])
		}
		if len(cs.CursorField) > 0 {
			need = append(need, cs.CursorField[0])
		}
		for _, n := range need {
			if !slices.Contains(ch.Fields, n) {
				f.addError(p+"fields", fmt.Sprintf("the cursor and primary key fields must stay selected (%s)", n))
				break
			}
		}
	}
	return cs, sf
}

// apply copies the form's settings onto c; the store validates the rest.
func (f *connForm) apply(c *store.Connection, t *formTarget) {
	c.Name, c.SourceID, c.DestinationID = f.Name, f.SourceID, f.DestinationID
	c.Catalog, c.SelectedFields, c.Schedule = t.catalog, t.selected, t.schedule
	c.NamespaceDefinition = protocol.NamespaceDefinition(f.NamespaceDefinition)
	c.NamespaceFormat, c.Prefix = "", f.Prefix
	if c.NamespaceDefinition == protocol.NamespaceCustomFormat {
		c.NamespaceFormat = f.NamespaceFormat
	}
	c.ForceStdio = f.DataChannel == "stdio"
	c.SocketCount = nil
	if n, err := strconv.Atoi(f.SocketCount); err == nil {
		c.SocketCount = &n
	}
}

// modesFor lists the Airbyte sync modes of a stream that the destination
// writes: the stream's read modes, crossed with the destination's
// declared write modes (overwrite, append and append-dedup when its spec
// does not say, the ones every destination of the protocol takes).
func modesFor(st *protocol.Stream, writes []string) []string {
	if writes == nil {
		writes = []string{protocol.DestOverwrite, protocol.DestAppend, protocol.DestAppendDedup}
	}
	var out []string
	for _, m := range syncModes {
		if st.Supports(m.mode) && slices.Contains(writes, m.dest) {
			out = append(out, m.name)
		}
	}
	return out
}

// fieldNames are a stream schema's top-level properties, sorted.
func fieldNames(schema []byte) []string {
	var out []string
	for _, p := range topLevelFields(schema) {
		out = append(out, p[0])
	}
	return out
}
