package daemon

import (
	"testing"

	"github.com/ferrysync/ferry/store"
)

// TestTriggerLabels records who asked for a job: the API's Trigger is
// api, the UI's TriggerManual manual.
func TestTriggerLabels(t *testing.T) {
	d := openDaemon(t, testConfig(t, scriptedDir(t)), Options{})
	conn := scriptedConnection(t, d, scenario{}, scenario{})
	j, err := d.Trigger(t.Context(), conn.ID, store.JobSync)
	if err != nil {
		t.Fatal(err)
	}
	if j.Trigger != store.TriggerAPI {
		t.Errorf("Trigger: got %q, want %q", j.Trigger, store.TriggerAPI)
	}
	if _, err := d.Cancel(t.Context(), j.ID); err != nil {
		t.Fatal(err)
	}
	j, err = d.TriggerManual(t.Context(), conn.ID, store.JobSync)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := d.db.Job(t.Context(), j.ID); err != nil || got.Trigger != store.TriggerManual {
		t.Errorf("TriggerManual: got %+v, %v; want trigger %q", got, err, store.TriggerManual)
	}
}
