package web

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/store"
)

// TestSecretsNeverLeak calls every endpoint, with connectors and attempt
// logs that echo the secrets back, and then checks that no response body,
// streamed event or server log line holds a secret value.
func TestSecretsNeverLeak(t *testing.T) {
	e := newEnv(t)
	echo := func(config json.RawMessage) string { return "config was " + string(config) }
	e.conns.CheckFn = func(config json.RawMessage) (*protocol.ConnectionStatus, error) {
		return &protocol.ConnectionStatus{Status: protocol.StatusFailed, Message: echo(config)}, nil
	}
	f := e.fixture()
	id := map[string]string{"sources": f.src, "destinations": f.dst}
	for _, kind := range []string{"sources", "destinations"} {
		one := "/api/v1/" + kind + "/" + id[kind]
		var a actorJSON
		e.do(t, "GET", one, nil, 200, &a)
		e.do(t, "GET", "/api/v1/"+kind, nil, 200, nil)
		e.do(t, "PUT", one, map[string]any{"name": "n", "configuration": a.Configuration}, 200, nil)
		e.do(t, "PATCH", one, map[string]any{"configuration": a.Configuration}, 200, nil)
		e.do(t, "PATCH", one, map[string]any{"name": "m"}, 200, nil)
		e.do(t, "POST", one+"/check", nil, 200, nil)
	}
	bad := srcConfig()
	bad["password"] = "with space " + srcPassword
	e.fail(t, "POST", "/api/v1/sources", map[string]any{"name": "x", "definitionId": f.srcDef, "configuration": bad}, 400)
	e.fail(t, "PUT", "/api/v1/sources/"+f.src, map[string]any{"name": "x", "configuration": bad}, 400)
	bad["port"] = srcPassword
	e.fail(t, "PUT", "/api/v1/sources/"+f.src, map[string]any{"name": "x", "configuration": bad}, 400)

	e.do(t, "GET", "/api/v1/sources/"+f.src+"/streams?refresh=true", nil, 200, nil)
	e.conns.DiscoverFn = func(config json.RawMessage) (*protocol.Catalog, error) { return nil, errors.New(echo(config)) }
	e.fail(t, "GET", "/api/v1/streams?sourceId="+f.src+"&refresh=true", nil, 502)
	e.conns.CheckFn = func(config json.RawMessage) (*protocol.ConnectionStatus, error) { return nil, errors.New(echo(config)) }
	e.do(t, "POST", "/api/v1/sources/"+f.src+"/check", nil, 200, nil)

	var c connectionJSON
	e.do(t, "GET", "/api/v1/connections/"+f.conn, nil, 200, &c)
	e.do(t, "GET", "/api/v1/connections", nil, 200, nil)
	e.do(t, "PATCH", "/api/v1/connections/"+f.conn, map[string]any{"webhookSecret": c.WebhookSecret, "prefix": "p_"}, 200, nil)
	e.do(t, "PUT", "/api/v1/connections/"+f.conn, map[string]any{"webhookUrl": "https://h.example", "webhookSecret": webhookSecretPT}, 200, nil)
	e.do(t, "GET", "/api/v1/connections/"+f.conn+"/state", nil, 200, nil)

	var j jobJSON
	e.do(t, "POST", "/api/v1/jobs", map[string]any{"connectionId": f.conn}, 201, &j)
	claim, logPath := e.startAttempt(t)
	leak := "2025-01-01T00:00:00.000Z ERROR source: " + srcPassword + " " + srcAPIKey + " " + dstToken + "\n"
	appendFile(t, logPath, leak)
	e.do(t, "GET", path("/api/v1/jobs/%d/attempts/1/logs", j.JobID), nil, 200, nil)
	e.do(t, "GET", path("/api/v1/jobs/%d/attempts/1/logs?format=json", j.JobID), nil, 200, nil)
	e.finishAttempt(t, store.AttemptResult{AttemptID: claim.Attempt.ID, Status: store.AttemptFailed, JobStatus: store.JobFailed,
		FailureReasons: []store.FailureReason{{FailureOrigin: protocol.OriginSource, Timestamp: 1,
			ExternalMessage: "bad password " + srcPassword, InternalMessage: "key " + srcAPIKey, Stacktrace: "token " + dstToken}}})
	_, events := e.follow(t, j.JobID)
	for ev := range events {
		e.bodies = append(e.bodies, ev.data)
	}
	e.do(t, "GET", path("/api/v1/jobs/%d", j.JobID), nil, 200, nil)
	e.do(t, "GET", "/api/v1/jobs", nil, 200, nil)
	e.do(t, "GET", "/metrics", nil, 200, nil)
	e.do(t, "GET", "/api/v1/definitions", nil, 200, nil)
	e.do(t, "GET", "/api/v1/definitions/"+f.srcDef+"/spec", nil, 200, nil)

	if len(e.bodies) < 30 {
		t.Fatalf("only %d responses recorded; the tour did not run", len(e.bodies))
	}
	secrets := []string{srcPassword, srcAPIKey, dstToken, webhookSecretPT}
	for _, b := range e.bodies {
		for _, s := range secrets {
			if strings.Contains(b, s) {
				t.Errorf("a response holds the secret %q:\n%s", s, b)
			}
		}
	}
	for _, s := range append(secrets, testToken) {
		if strings.Contains(e.log.String(), s) {
			t.Errorf("the server log holds %q", s)
		}
	}
}
