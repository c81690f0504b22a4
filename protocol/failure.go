package protocol

// Failure origins of Airbyte's FailureReason (docs/protocol.md 7.2): which part
// of a sync failed. Ferry reports source, destination, replication (its
// own handling of the messages), persistence (its store) and
// airbyte_platform (itself otherwise); normalization and dbt are Airbyte's
// and are only accepted from clients.
const (
	OriginSource        = "source"
	OriginDestination   = "destination"
	OriginReplication   = "replication"
	OriginPersistence   = "persistence"
	OriginNormalization = "normalization"
	OriginDBT           = "dbt"
	OriginPlatform      = "airbyte_platform"
	OriginUnknown       = "unknown"
)

// Failure types of a FailureReason beyond the three an ERROR trace carries
// (FailureSystem, FailureConfig, FailureTransient, in trace.go).
const (
	FailureManualCancellation = "manual_cancellation"
	FailureRefreshSchema      = "refresh_schema"
	FailureHeartbeatTimeout   = "heartbeat_timeout"
	FailureDestinationTimeout = "destination_timeout"
)
