// Package deps pins the module's dependencies while the packages that use
// them are being written. Remove it once every import below has a real user.
package deps

import (
	_ "github.com/chromedp/chromedp"
	_ "github.com/docker/docker/client"
	_ "github.com/docker/docker/pkg/stdcopy"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/gorilla/mux"
	_ "github.com/robfig/cron/v3"
	_ "github.com/santhosh-tekuri/jsonschema/v6"
	_ "golang.org/x/sync/errgroup"
	_ "google.golang.org/protobuf/proto"
	_ "modernc.org/sqlite"
	_ "sigs.k8s.io/yaml"
	_ "github.com/prometheus/client_golang/prometheus"
)
