package store

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ferrysync/ferry/protocol"
)

// ConnectionStatus says whether the scheduler runs a connection.
type ConnectionStatus string

// Connection statuses.
const (
	ConnectionActive   ConnectionStatus = "active"
	ConnectionInactive ConnectionStatus = "inactive"
)

// Connection joins a source to a destination with a configured catalog and
// the settings of its syncs.
type Connection struct {
	ID            string
	Name          string
	SourceID      string
	DestinationID string
	// WorkspaceID is the source's workspace, set by the store.
	WorkspaceID string
	// Catalog is the configured catalog: streams with sync mode,
	// destination sync mode, cursor and primary key. Never nil once stored.
	Catalog *protocol.ConfiguredCatalog
	// SelectedFields lists, per stream, the top-level fields to keep
	// (docs/protocol.md 4.6). A stream not listed keeps every field.
	SelectedFields      []SelectedFields
	Schedule            Schedule
	NamespaceDefinition protocol.NamespaceDefinition
	NamespaceFormat     string
	Prefix              string
	Status              ConnectionStatus
	Timeouts            Timeouts
	// ForceStdio runs every sync in stdio mode.
	ForceStdio bool
	// SocketCount overrides the computed socket count; nil computes it.
	SocketCount *int
	// NetworkMode is the connectors' Docker network mode; empty is the
	// engine's default.
	NetworkMode string
	// Bridge is how bridged mode reaches the source's sockets: BridgeAuto
	// (a probe decides), BridgeDirect or BridgeRelay; empty is the
	// daemon's default.
	Bridge     string
	WebhookURL string
	// NonBreakingChanges, DataResidency and Tags are settings of Airbyte's
	// API that Ferry keeps and returns but does not act on: it does not
	// detect schema changes, and has one data plane. Empty takes the
	// default ("ignore", "auto", no tags).
	NonBreakingChanges string
	DataResidency      string
	Tags               []Tag
	// WebhookSecret signs webhook bodies. Callers pass plaintext (or the
	// mask to keep the stored one); it is stored encrypted and every
	// method returns it masked. ConnectionWebhook returns the plaintext.
	WebhookSecret string
	// NextRunAt is when the scheduler next runs the connection; the store
	// sets it from the schedule when the connection is created or its
	// schedule or status changes, and the scheduler with SetNextRunAt.
	NextRunAt *time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Tag is one of a connection's Airbyte tags, kept as given.
type Tag struct {
	TagID       string `json:"tagId"`
	WorkspaceID string `json:"workspaceId"`
	Name        string `json:"name"`
	Color       string `json:"color"`
}

// NonBreakingChangesValues are the values of NonBreakingChanges, Airbyte's
// nonBreakingSchemaUpdatesBehavior.
var NonBreakingChangesValues = []string{"ignore", "disable_connection", "propagate_columns", "propagate_fully"}

// SelectedFields is the field selection of one stream.
type SelectedFields struct {
	Stream protocol.StreamDescriptor `json:"stream"`
	Fields []string                  `json:"fields"`
}

// Timeouts are a connection's liveness limits (G8). Nil means the daemon's
// default.
type Timeouts struct {
	// NoProgress fails an attempt whose source sends no record or state
	// for this long.
	NoProgress *time.Duration
	// EndOfInput fails an attempt whose destination does not exit this
	// long after end of input.
	EndOfInput *time.Duration
	// MaxAttemptDuration bounds a whole attempt.
	MaxAttemptDuration *time.Duration
	// DestinationWrite fails an attempt in which one write to the
	// destination's input blocks this long: it stopped reading.
	DestinationWrite *time.Duration
}

// The values of Connection.Bridge and Attempt.Bridge (runner.BridgeAuto,
// ...; the store imports nothing of the runner).
const (
	BridgeAuto   = "auto"
	BridgeDirect = "direct"
	BridgeRelay  = "relay"
)

var networkModeRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]*$`)

// withDefaults fills in the zero fields a caller may leave out.
func (c *Connection) withDefaults() {
	c.Schedule = c.Schedule.withDefaults()
	if c.NamespaceDefinition == "" {
		c.NamespaceDefinition = protocol.NamespaceDestination
	}
	if c.Status == "" {
		c.Status = ConnectionActive
	}
	if c.Catalog == nil {
		c.Catalog = &protocol.ConfiguredCatalog{}
	}
	if c.NonBreakingChanges == "" {
		c.NonBreakingChanges = "ignore"
	}
	if c.DataResidency == "" {
		c.DataResidency = "auto"
	}
}

// Validate checks the fields a caller sets, after defaults are applied to
// the zero ones. It returns a *ValidationError.
func (c *Connection) Validate() error {
	c.withDefaults()
	if len(c.Name) > 200 {
		return invalid("name", "is longer than 200 bytes")
	}
	if c.SourceID == "" {
		return invalid("sourceId", "is required")
	}
	if c.DestinationID == "" {
		return invalid("destinationId", "is required")
	}
	if err := c.Catalog.Validate(); err != nil {
		return invalid("configurations.streams", "%v", err)
	}
	seen := make(map[protocol.StreamDescriptor]bool)
	for _, sf := range c.SelectedFields {
		if c.Catalog.Find(sf.Stream) == nil {
			return invalid("selectedFields", "stream %s is not in the catalog", sf.Stream)
		}
		if seen[sf.Stream] {
			return invalid("selectedFields", "stream %s is listed twice", sf.Stream)
		}
		seen[sf.Stream] = true
		for _, f := range sf.Fields {
			if f == "" {
				return invalid("selectedFields", "stream %s: empty field name", sf.Stream)
			}
		}
	}
	if err := c.Schedule.Validate(); err != nil {
		return err
	}
	switch c.NamespaceDefinition {
	case protocol.NamespaceSource, protocol.NamespaceDestination:
	case protocol.NamespaceCustomFormat:
		if c.NamespaceFormat == "" {
			return invalid("namespaceFormat", "is required with customformat")
		}
	default:
		return invalid("namespaceDefinition", "must be source, destination or customformat")
	}
	if c.Status != ConnectionActive && c.Status != ConnectionInactive {
		return invalid("status", "must be active or inactive")
	}
	for name, d := range map[string]*time.Duration{
		"timeouts.noProgress": c.Timeouts.NoProgress, "timeouts.endOfInput": c.Timeouts.EndOfInput,
		"timeouts.maxAttemptDuration": c.Timeouts.MaxAttemptDuration,
		"timeouts.destinationWrite":   c.Timeouts.DestinationWrite,
	} {
		if d != nil && *d < time.Millisecond {
			return invalid(name, "must be at least 1ms")
		}
	}
	if c.SocketCount != nil && (*c.SocketCount < 1 || *c.SocketCount > 64) {
		return invalid("socketCount", "must be between 1 and 64")
	}
	switch c.Bridge {
	case "", BridgeAuto, BridgeDirect, BridgeRelay:
	default:
		return invalid("bridge", "must be auto, direct or relay")
	}
	if c.NetworkMode != "" && !networkModeRE.MatchString(c.NetworkMode) {
		return invalid("networkMode", "must be a Docker network mode or name")
	}
	if !slices.Contains(NonBreakingChangesValues, c.NonBreakingChanges) {
		return invalid("nonBreakingSchemaUpdatesBehavior", "must be one of %s", strings.Join(NonBreakingChangesValues, ", "))
	}
	if len(c.DataResidency) > 100 {
		return invalid("dataResidency", "is longer than 100 bytes")
	}
	for i, t := range c.Tags {
		if t.TagID == "" || t.Name == "" || t.Color == "" {
			return invalid(fmt.Sprintf("tags[%d]", i), "needs a tagId, a name and a color")
		}
	}
	if c.WebhookURL != "" {
		u, err := url.Parse(c.WebhookURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return invalid("webhookUrl", "must be an http or https URL")
		}
	}
	return nil
}

// nextRun is the first run of the schedule after now, or nil when the
// connection is inactive or manual.
func (c *Connection) nextRun(now time.Time) *time.Time {
	if c.Status != ConnectionActive {
		return nil
	}
	t, ok := c.Schedule.Next(now)
	if !ok {
		return nil
	}
	return &t
}

// encodeTags is the stored form of c's tags: JSON, or NULL for none.
func (c *Connection) encodeTags() (any, error) {
	if len(c.Tags) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(c.Tags)
	if err != nil {
		return nil, fmt.Errorf("encode tags: %w", err)
	}
	return string(b), nil
}

func (c *Connection) encodeJSON() (catalog string, selected any, err error) {
	b, err := json.Marshal(c.Catalog)
	if err != nil {
		return "", nil, fmt.Errorf("encode catalog: %w", err)
	}
	if len(c.SelectedFields) == 0 {
		return string(b), nil, nil
	}
	s, err := json.Marshal(c.SelectedFields)
	if err != nil {
		return "", nil, fmt.Errorf("encode selected fields: %w", err)
	}
	return string(b), string(s), nil
}

const connectionColumns = `id, name, source_id, destination_id, catalog, selected_fields,
	schedule_type, schedule_interval_seconds, schedule_cron, schedule_timezone, missed_runs,
	namespace_definition, namespace_format, prefix, status, no_progress_timeout_ms,
	end_of_input_timeout_ms, max_attempt_duration_ms, force_stdio, socket_count, network_mode,
	webhook_url, webhook_secret, next_run_at, created_at, updated_at, workspace_id,
	non_breaking_changes, data_residency, tags, destination_write_timeout_ms, bridge`

// scanConnection reads connectionColumns; the webhook secret comes back
// masked.
func scanConnection(s scanner, extra ...any) (*Connection, error) {
	var c Connection
	var catalog string
	var selected, cronExpr, tz, nsFormat, network, hookURL, hookSecret, nextRun, ws, tags, bridge sql.NullString
	var interval, noProgress, endOfInput, maxAttempt, sockets, destWrite sql.NullInt64
	var created, updated string
	dest := []any{&c.ID, &c.Name, &c.SourceID, &c.DestinationID, &catalog, &selected,
		&c.Schedule.Type, &interval, &cronExpr, &tz, &c.Schedule.MissedRuns,
		&c.NamespaceDefinition, &nsFormat, &c.Prefix, &c.Status, &noProgress,
		&endOfInput, &maxAttempt, &c.ForceStdio, &sockets, &network,
		&hookURL, &hookSecret, &nextRun, &created, &updated, &ws,
		&c.NonBreakingChanges, &c.DataResidency, &tags, &destWrite, &bridge}
	if err := s.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	c.Catalog = &protocol.ConfiguredCatalog{}
	if err := json.Unmarshal([]byte(catalog), c.Catalog); err != nil {
		return nil, fmt.Errorf("decode stored catalog of connection %s: %w", c.ID, err)
	}
	if selected.Valid {
		if err := json.Unmarshal([]byte(selected.String), &c.SelectedFields); err != nil {
			return nil, fmt.Errorf("decode stored selected fields of connection %s: %w", c.ID, err)
		}
	}
	if tags.Valid {
		if err := json.Unmarshal([]byte(tags.String), &c.Tags); err != nil {
			return nil, fmt.Errorf("decode stored tags of connection %s: %w", c.ID, err)
		}
	}
	c.WorkspaceID = ws.String
	c.Schedule.IntervalSeconds = interval.Int64
	c.Schedule.Cron, c.Schedule.Timezone = cronExpr.String, tz.String
	c.NamespaceFormat, c.NetworkMode, c.WebhookURL = nsFormat.String, network.String, hookURL.String
	c.Bridge = bridge.String
	c.Timeouts = Timeouts{ptrDuration(noProgress), ptrDuration(endOfInput), ptrDuration(maxAttempt), ptrDuration(destWrite)}
	if sockets.Valid {
		n := int(sockets.Int64)
		c.SocketCount = &n
	}
	if hookSecret.Valid {
		c.WebhookSecret = Mask
	}
	var ts timeScanner
	c.NextRunAt = ts.nullTime(nextRun)
	c.CreatedAt, c.UpdatedAt = ts.time(created), ts.time(updated)
	return &c, ts.err
}

func nullSockets(n *int) any {
	if n == nil {
		return nil
	}
	return *n
}

// connectionOwner is the additional data that binds an encrypted webhook
// secret to its connection.
func connectionOwner(id string) string { return "connection:" + id }

// sealWebhookSecret returns the column value for c's webhook secret: the
// stored one when c carries the mask, NULL when empty, else encrypted.
func sealWebhookSecret(tx *txn, c *Connection, stored sql.NullString) (any, error) {
	switch strings.TrimSpace(c.WebhookSecret) {
	case "":
		return nil, nil
	case Mask:
		if !stored.Valid {
			return nil, invalid("webhookSecret", "is the mask %q but no secret is stored", Mask)
		}
		return stored.String, nil
	}
	b, _ := json.Marshal(c.WebhookSecret)
	env, err := tx.db.key.seal(b, connectionOwner(c.ID))
	if err != nil {
		return nil, err
	}
	return string(env), nil
}
