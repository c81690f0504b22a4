package web

import (
	"time"

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
	Configurations      configurationsJSON `json:"configurations"`
	Schedule            scheduleJSON       `json:"schedule"`
	NamespaceDefinition string             `json:"namespaceDefinition"`
	NamespaceFormat     string             `json:"namespaceFormat,omitempty"`
	Prefix              string             `json:"prefix"`
	Status              string             `json:"status"`
	Timeouts            timeoutsJSON       `json:"timeouts"`
	ForceStdio          bool               `json:"forceStdio"`
	SocketCount         *int               `json:"socketCount"`
	NetworkMode         string             `json:"networkMode,omitempty"`
	WebhookURL          string             `json:"webhookUrl,omitempty"`
	WebhookSecret       string             `json:"webhookSecret,omitempty"`
	NextRunAt           *string            `json:"nextRunAt"`
	CreatedAt           int64              `json:"createdAt"`
	UpdatedAt           int64              `json:"updatedAt"`
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
// manual and cron.
type scheduleJSON struct {
	ScheduleType    store.ScheduleType `json:"scheduleType"`
	CronExpression  string             `json:"cronExpression,omitempty"`
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

func newConnectionJSON(c *store.Connection) connectionJSON {
	out := connectionJSON{
		ConnectionID: c.ID, Name: c.Name, SourceID: c.SourceID, DestinationID: c.DestinationID,
		Schedule: scheduleJSON{ScheduleType: c.Schedule.Type, CronExpression: c.Schedule.Cron,
			IntervalSeconds: c.Schedule.IntervalSeconds, Timezone: c.Schedule.Timezone, MissedRuns: c.Schedule.MissedRuns},
		NamespaceDefinition: string(c.NamespaceDefinition), NamespaceFormat: c.NamespaceFormat,
		Prefix: c.Prefix, Status: string(c.Status),
		Timeouts: timeoutsJSON{durationText(c.Timeouts.NoProgress), durationText(c.Timeouts.EndOfInput),
			durationText(c.Timeouts.MaxAttemptDuration), durationText(c.Timeouts.DestinationWrite)},
		ForceStdio: c.ForceStdio, SocketCount: c.SocketCount, NetworkMode: c.NetworkMode,
		WebhookURL: c.WebhookURL, WebhookSecret: maskIfSet(c.WebhookSecret),
		CreatedAt: c.CreatedAt.Unix(), UpdatedAt: c.UpdatedAt.Unix(),
		Configurations: configurationsJSON{Streams: []streamConfigJSON{}},
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
