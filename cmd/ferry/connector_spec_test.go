package main

import (
	"bytes"
	"strings"
	"testing"
)

// specWithNesting has a oneOf of auth methods (with a secret default),
// an enum with a default, and an array of objects.
const specWithNesting = `{"type":"object","required":["host","credentials"],"properties":{
 "host":{"type":"string","title":"Host","order":0},
 "port":{"type":"integer","default":5432,"order":1},
 "ssl_mode":{"type":"string","enum":["disable","require","verify-full"],"default":"require"},
 "credentials":{"title":"Authentication","type":"object","oneOf":[
   {"title":"Password","required":["password"],"properties":{"auth_type":{"type":"string","const":"password"},"password":{"type":"string","airbyte_secret":true,"default":"hunter2-default"}}},
   {"properties":{"auth_type":{"type":"string","const":"oauth"},"client_id":{"type":"string"},"refresh_token":{"type":"string","airbyte_secret":true}}}]},
 "streams":{"type":"array","items":{"type":"object","properties":{"name":{"type":"string"},"format":{"type":"string","enum":["csv","jsonl"]}}}}}}`

// TestPrintPropertiesNested shows nested properties under their parent,
// enums with their default, every oneOf option (named by title or by its
// constant) with its own properties, array items, and never a secret's
// default.
func TestPrintPropertiesNested(t *testing.T) {
	var buf bytes.Buffer
	printProperties(&buf, []byte(specWithNesting))
	out := buf.String()
	t.Log("\n" + out)
	for _, want := range []string{
		`one of: "disable", "require", "verify-full" default: "require"`,
		"credentials", "object oneOf",
		"option 1: Password", "option 2: oauth",
		"      auth_type", `= "password"`, "      password", "      refresh_token",
		"[] (each item)", "      format", `one of: "csv", "jsonl"`,
		"default: 5432",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the spec listing lacks %q", want)
		}
	}
	if strings.Contains(out, "hunter2-default") {
		t.Error("the listing shows a secret's default")
	}
	// Order: host (order 0) before port (order 1) before the rest.
	if h, p := strings.Index(out, "  host"), strings.Index(out, "  port"); h < 0 || p < h {
		t.Errorf("host (order 0) should come before port (order 1)")
	}
}
