package daemon

import (
	"github.com/ferrysync/ferry/configcheck"
	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/secret"
	"github.com/ferrysync/ferry/store"
)

// checkConfigs re-checks the stored configs the attempt runs against their
// connectors' cached specs, as `ferry sync` does, before read and write
// start: a spec may have changed since the config was saved (a new image
// version), and a config it rejects would have a connector fail half-way
// or write with defaults. A clear runs the destination alone. The message
// names the field and masks the configs' secrets; no retry can mend it.
func checkConfigs(c *store.Claim, clear bool) *planFailure {
	red := secret.NewRedactor(nil)
	for _, cfg := range []*store.ResolvedConfig{c.SourceConfig, c.DestinationConfig} {
		if cfg != nil {
			red.Add(cfg.Secrets)
		}
	}
	sides := []struct {
		name string
		def  *store.Definition
		cfg  *store.ResolvedConfig
	}{{"source", c.SourceDefinition, c.SourceConfig}, {"destination", c.DestinationDefinition, c.DestinationConfig}}
	if clear {
		sides = sides[1:]
	}
	for _, s := range sides {
		if s.def == nil || s.cfg == nil {
			continue
		}
		if err := configcheck.CheckSpec(s.def.Spec, s.cfg.Config, red); err != nil {
			return &planFailure{protocol.FailureConfig, "the " + s.name + "'s config does not match its connector's spec: " + red.Redact(err.Error()), false}
		}
	}
	return nil
}
