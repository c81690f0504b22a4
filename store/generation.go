package store

import (
	"context"

	"github.com/ferrysync/ferry/protocol"
)

// StreamGeneration is the current generation of one stream of a connection
// (docs/protocol.md 2.7): the catalog's generation_id, incremented on a
// truncate refresh or a clear. A stream without a row is at generation 0.
type StreamGeneration struct {
	Stream       protocol.StreamDescriptor
	GenerationID int64
}

// Generations returns the stored generations of a connection's streams,
// ordered by namespace and name. It returns ErrNotFound for an unknown
// connection.
func (db *DB) Generations(ctx context.Context, connID string) ([]StreamGeneration, error) {
	var out []StreamGeneration
	err := db.view(ctx, "get generations", func(tx *txn) (err error) {
		if _, _, err := findConnection(ctx, tx, connID); err != nil {
			return err
		}
		out, err = generations(ctx, tx, connID)
		return err
	})
	return out, err
}

func generations(ctx context.Context, tx *txn, connID string) ([]StreamGeneration, error) {
	rows, err := tx.QueryContext(ctx, `SELECT namespace, name, generation_id FROM stream_generations
		WHERE connection_id = ? ORDER BY namespace, name`, connID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []StreamGeneration
	for rows.Next() {
		var g StreamGeneration
		if err := rows.Scan(&g.Stream.Namespace, &g.Stream.Name, &g.GenerationID); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// BumpGenerations increments the generation of each given stream (of every
// stream in the connection's catalog when streams is nil), and returns all
// of the connection's generations. It returns ErrNotFound for an unknown
// connection.
func (db *DB) BumpGenerations(ctx context.Context, connID string, streams []protocol.StreamDescriptor) ([]StreamGeneration, error) {
	var out []StreamGeneration
	err := db.update(ctx, "bump generations", func(tx *txn) error {
		c, _, err := findConnection(ctx, tx, connID)
		if err != nil {
			return err
		}
		if streams == nil {
			for i := range c.Catalog.Streams {
				streams = append(streams, c.Catalog.Streams[i].Stream.Descriptor())
			}
		}
		for _, s := range streams {
			if s.Name == "" {
				return invalid("streams", "a stream descriptor needs a name")
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO stream_generations
				(connection_id, namespace, name, generation_id, updated_at) VALUES (?, ?, ?, 1, ?)
				ON CONFLICT (connection_id, namespace, name)
				DO UPDATE SET generation_id = stream_generations.generation_id + 1, updated_at = excluded.updated_at`,
				connID, s.Namespace, s.Name, formatTime(tx.now)); err != nil {
				return err
			}
		}
		out, err = generations(ctx, tx, connID)
		return err
	})
	return out, err
}
