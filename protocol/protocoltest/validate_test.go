package protocoltest

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestSchemaPath(t *testing.T) {
	p, err := SchemaPath()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join("shared", "spec", "airbyte_protocol.yaml"); !strings.HasSuffix(p, want) {
		t.Errorf("SchemaPath() = %s, want a path ending in %s", p, want)
	}
	t.Setenv(SchemaEnv, "/elsewhere/protocol.yaml")
	if p, _ := SchemaPath(); p != "/elsewhere/protocol.yaml" {
		t.Errorf("with %s set, SchemaPath() = %s", SchemaEnv, p)
	}
}

func TestValidate(t *testing.T) {
	err := Validate("AirbyteMessage", []byte(`{"type":"LOG","log":{"level":"INFO","message":"hi"}}`))
	if errors.Is(err, ErrNoSchema) {
		SkipNoSchema(t, err)
	}
	if err != nil {
		t.Errorf("a valid LOG message: %v", err)
	}
	if err := Validate("AirbyteMessage", []byte(`{"type":"LOG","log":{"level":"LOUD","message":"hi"}}`)); err == nil {
		t.Errorf("a LOG with level LOUD validated")
	}
	if err := Validate("AirbyteMessage", []byte(`{"type":`)); err == nil {
		t.Errorf("broken JSON validated")
	}
	if _, err := Schema("NoSuchDefinition"); err == nil {
		t.Errorf("an unknown definition gave no error")
	}
	ValidateMessage(t, []byte(`{"type":"CONNECTION_STATUS","connectionStatus":{"status":"SUCCEEDED"}}`))
}
