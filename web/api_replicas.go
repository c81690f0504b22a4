package web

import (
	"context"
	"net/http"

	"github.com/ferrysync/ferry/store"
)

// replicaLister is the store's list of live replicas. It is asked of the
// Store by type assertion, so the API's narrow Store interface (and its
// test fakes) stay as they are.
type replicaLister interface {
	Replicas(ctx context.Context) ([]*store.Replica, error)
}

// replicaJSON is one live `ferry serve` replica on the shared database.
type replicaJSON struct {
	ReplicaID       string  `json:"replicaId"`
	Hostname        string  `json:"hostname"`
	PID             int     `json:"pid"`
	StartedAt       string  `json:"startedAt"`
	LastHeartbeatAt string  `json:"lastHeartbeatAt"`
	RunningAttempts []int64 `json:"runningAttemptIds"`
}

func (s *Server) replicaRoutes(api apiRouter) {
	api.handleFerry(http.MethodGet, "/replicas", s.handleListReplicas)
}

// handleListReplicas lists the replicas whose heartbeat is within the
// lease, with the attempts each runs.
func (s *Server) handleListReplicas(w http.ResponseWriter, r *http.Request) {
	rl, ok := s.cfg.Store.(replicaLister)
	if !ok {
		writeJSON(w, http.StatusOK, map[string]any{"data": []replicaJSON{}})
		return
	}
	reps, err := rl.Replicas(r.Context())
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := make([]replicaJSON, 0, len(reps))
	for _, rep := range reps {
		out = append(out, replicaJSON{ReplicaID: rep.ID, Hostname: rep.Hostname, PID: rep.PID,
			StartedAt: timeText(rep.StartedAt), LastHeartbeatAt: timeText(rep.HeartbeatAt),
			RunningAttempts: append([]int64{}, rep.RunningAttempts...)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": out})
}
