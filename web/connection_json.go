package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/store"
)

// connectionJSON is a connection as Airbyte's ConnectionResponse shows it,
// plus Ferry's own settings (interval schedules, timeouts, data channel,
// webhook). The webhook secret comes back masked.
type connectionJSON struct {
	ConnectionID        string             `json:"connectionId"`
	Name                string             `json:"name"`
	SourceID            string             `json:"sourceId"`
	DestinationID       string             `json:"destinationId"`
	WorkspaceID         string             `json:"workspaceId"`
	Configurations      configurationsJSON `json:"configurations"`
	Schedule            scheduleJSON       `json:"schedule"`
	NamespaceDefinition string             `json:"namespaceDefinition"`
	NamespaceFormat     string             `json:"namespaceFormat,omitempty"`
	Prefix              string             `json:"prefix"`
	Status              string             `json:"status"`
	NonBreakingChanges  string             `json:"nonBreakingSchemaUpdatesBehavior"`
	DataResidency       string             `json:"dataResidency"`
	Tags                []store.Tag        `json:"tags"`
	Timeouts            timeoutsJSON       `json:"timeouts"`
	ForceStdio          bool               `json:"forceStdio"`
	SocketCount         *int               `json:"socketCount"`
	NetworkMode         string             `json:"networkMode,omitempty"`
	// Bridge is how bridged mode reaches the source's sockets (auto,
	// direct or relay); null is the daemon's default.
	Bridge        *string `json:"bridge"`
	WebhookURL    string  `json:"webhookUrl,omitempty"`
	WebhookSecret string  `json:"webhookSecret,omitempty"`
	NextRunAt     *string `json:"nextRunAt"`
	CreatedAt     int64   `json:"createdAt"`
	UpdatedAt     int64   `json:"updatedAt"`
}

type configurationsJSON struct {
	Streams []streamConfigJSON `json:"streams"`
}

// streamConfigJSON is one configured stream, as Airbyte's StreamConfiguration.
type streamConfigJSON struct {
	Name           string              `json:"name"`
	Namespace      string              `json:"namespace,omitempty"`
	SyncMode       string              `json:"syncMode,omitempty"`
	CursorField    []string            `json:"cursorField,omitempty"`
	PrimaryKey     [][]string          `json:"primaryKey,omitempty"`
	SelectedFields []selectedFieldJSON `json:"selectedFields,omitempty"`
}

type selectedFieldJSON struct {
	FieldPath []string `json:"fieldPath"`
}

// scheduleJSON is Airbyte's schedule with Ferry's interval type beside
// manual and cron. Airbyte's public API calls an interval schedule
// "basic", described by basicTiming ("Every 2 hours"); Ferry shows it so
// there and reads it back in either form.
type scheduleJSON struct {
	ScheduleType    store.ScheduleType `json:"scheduleType"`
	CronExpression  string             `json:"cronExpression,omitempty"`
	BasicTiming     string             `json:"basicTiming,omitempty"`
	IntervalSeconds int64              `json:"intervalSeconds,omitempty"`
	Timezone        string             `json:"timezone,omitempty"`
	MissedRuns      store.MissedRuns   `json:"missedRuns,omitempty"`
}

// timeoutsJSON holds Go durations ("10m"); null is the daemon's default.
type timeoutsJSON struct {
	NoProgress         *string `json:"noProgress"`
	EndOfInput         *string `json:"endOfInput"`
	MaxAttemptDuration *string `json:"maxAttemptDuration"`
	DestinationWrite   *string `json:"destinationWrite"`
}

// scheduleBasic is the public API's name of an interval schedule.
const scheduleBasic store.ScheduleType = "basic"

// namespaceCustomFormat is the public API's spelling of the custom
// namespace definition.
const namespaceCustomFormat = "custom_format"

func newConnectionJSON(r *http.Request, c *store.Connection) connectionJSON {
	out := connectionJSON{
		ConnectionID: c.ID, Name: c.Name, SourceID: c.SourceID, DestinationID: c.DestinationID,
		WorkspaceID: c.WorkspaceID,
		Schedule: scheduleJSON{ScheduleType: c.Schedule.Type, CronExpression: c.Schedule.Cron,
			IntervalSeconds: c.Schedule.IntervalSeconds, Timezone: c.Schedule.Timezone, MissedRuns: c.Schedule.MissedRuns},
		NamespaceDefinition: string(c.NamespaceDefinition), NamespaceFormat: c.NamespaceFormat,
		Prefix: c.Prefix, Status: string(c.Status),
		NonBreakingChanges: c.NonBreakingChanges, DataResidency: c.DataResidency, Tags: nonNil(c.Tags),
		Timeouts: timeoutsJSON{durationText(c.Timeouts.NoProgress), durationText(c.Timeouts.EndOfInput),
			durationText(c.Timeouts.MaxAttemptDuration), durationText(c.Timeouts.DestinationWrite)},
		ForceStdio: c.ForceStdio, SocketCount: c.SocketCount, NetworkMode: c.NetworkMode,
		Bridge:     nullIfEmpty(c.Bridge),
		WebhookURL: c.WebhookURL, WebhookSecret: maskIfSet(c.WebhookSecret),
		CreatedAt: c.CreatedAt.Unix(), UpdatedAt: c.UpdatedAt.Unix(),
		Configurations: configurationsJSON{Streams: []streamConfigJSON{}},
	}
	if c.Schedule.Type == store.ScheduleInterval {
		out.Schedule.BasicTiming = basicTiming(c.Schedule.IntervalSeconds)
		if isPublic(r) {
			out.Schedule.ScheduleType = scheduleBasic
		}
	}
	if isPublic(r) && c.NamespaceDefinition == protocol.NamespaceCustomFormat {
		out.NamespaceDefinition = namespaceCustomFormat
	}
	if c.NextRunAt != nil {
		t := c.NextRunAt.UTC().Format(time.RFC3339)
		out.NextRunAt = &t
	}
	if c.Catalog == nil {
		return out
	}
	for _, cs := range c.Catalog.Streams {
		sc := streamConfigJSON{Name: cs.Stream.Name, Namespace: cs.Stream.Namespace,
			SyncMode: joinSyncMode(cs.SyncMode, cs.DestinationSyncMode), CursorField: cs.CursorField, PrimaryKey: cs.PrimaryKey}
		for _, sf := range c.SelectedFields {
			if sf.Stream == cs.Stream.Descriptor() {
				for _, f := range sf.Fields {
					sc.SelectedFields = append(sc.SelectedFields, selectedFieldJSON{FieldPath: []string{f}})
				}
			}
		}
		out.Configurations.Streams = append(out.Configurations.Streams, sc)
	}
	return out
}

// basicUnits are the units of basicTiming, largest first.
var basicUnits = []struct {
	one, many string
	seconds   int64
}{{"day", "days", 86400}, {"hour", "hours", 3600}, {"minute", "minutes", 60}, {"second", "seconds", 1}}

// basicTiming describes an interval the way Airbyte's basic schedules
// read: "Every 24 hours", in the largest unit that divides it (hours up
// to a week, as Airbyte's own choices are in hours).
func basicTiming(seconds int64) string {
	for _, u := range basicUnits {
		if seconds%u.seconds != 0 || (u.one == "day" && seconds < 7*86400) {
			continue
		}
		n := seconds / u.seconds
		if n == 1 {
			return "Every 1 " + u.one
		}
		return fmt.Sprintf("Every %d %s", n, u.many)
	}
	return fmt.Sprintf("Every %d seconds", seconds)
}

// parseBasicTiming reads basicTiming back: "Every N <unit>", with the unit
// singular or plural, case aside.
func parseBasicTiming(s string) (int64, bool) {
	f := strings.Fields(strings.ToLower(s))
	if len(f) != 3 || f[0] != "every" {
		return 0, false
	}
	n, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	for _, u := range basicUnits {
		if f[2] == u.one || f[2] == u.many {
			return n * u.seconds, true
		}
	}
	return 0, false
}

func durationText(d *time.Duration) *string {
	if d == nil {
		return nil
	}
	s := d.String()
	return &s
}

// parseDuration reads an optional duration field.
func parseDuration(field string, s *string) (*time.Duration, error) {
	if s == nil {
		return nil, nil
	}
	d, err := time.ParseDuration(*s)
	if err != nil {
		return nil, &store.ValidationError{Field: field, Message: "must be a duration such as 90s or 10m"}
	}
	return &d, nil
}

// maskIfSet masks a secret the store has already masked, so that no code
// path can hand a plaintext one to a response.
func maskIfSet(secret string) string {
	if secret == "" {
		return ""
	}
	return store.Mask
}

// nullIfEmpty is s, or nil (JSON null) when s is empty.
func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
