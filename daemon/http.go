package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/ferrysync/ferry/store"
	"github.com/ferrysync/ferry/web"
)

// WebOptions are the API's settings that are not in Config.
type WebOptions struct {
	// Logger receives the web server's log; nil discards it. It is passed
	// here rather than taken from the daemon, whose logger is already
	// tagged with the daemon's component.
	Logger *slog.Logger
	// MetricsPublic serves /metrics without the token.
	MetricsPublic bool
}

// The daemon is the API's job controller as it is.
var _ web.Jobs = (*Daemon)(nil)

// OpenWeb starts the REST API on Config.Web.Listen, on the daemon's store,
// job controller and connector runner. The token is <data-dir>/token; at
// the first start it is generated and logged, that once, so the operator
// can copy it (later starts log only where it is). Close the server
// before the daemon.
func (d *Daemon) OpenWeb(opts WebOptions) (*web.Server, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	token, created, err := d.loadAPIToken()
	if err != nil {
		return nil, fmt.Errorf("api token: %w", err)
	}
	tokenFile := filepath.Join(d.cfg.DataDir, web.TokenFileName)
	if created {
		log.Info("created the API token; it is shown only this once, and kept in the token file",
			"token", token, "file", tokenFile)
	} else {
		log.Info("API token", "file", tokenFile)
	}
	sessionKey, err := d.loadSessionKey()
	if err != nil {
		return nil, fmt.Errorf("ui session key: %w", err)
	}
	srv, err := web.New(web.Config{
		Addr: d.cfg.Web.Listen, Token: token, SessionKey: sessionKey, MetricsPublic: opts.MetricsPublic,
		Store: d.db, Jobs: d, Connectors: webConnectors{d.Connectors()}, Logger: log,
		AllowHostNetwork: d.cfg.Runtime.AllowHostNetwork,
	})
	if err != nil {
		return nil, err
	}
	srv.SetAccessTokenTTL(d.cfg.Web.AccessTokenTTL)
	if err := srv.Open(); err != nil {
		return nil, err
	}
	return srv, nil
}

// webConnectors adapts the daemon's connector runner to web.Connectors:
// only Spec's result type differs.
type webConnectors struct{ *Connectors }

var _ web.Connectors = webConnectors{}

func (c webConnectors) Spec(ctx context.Context, def *store.Definition) (*web.SpecResult, error) {
	r, err := c.Connectors.Spec(ctx, def)
	if err != nil {
		return nil, err
	}
	return &web.SpecResult{Spec: r.Spec, ImageID: r.ImageID, IPCOptions: r.IPCOptions, Connector: r.Connector,
		Entrypoint: r.Entrypoint}, nil
}
