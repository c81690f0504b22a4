package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
)

// ferry token manages applications, the client credentials that scripts
// and Airbyte's clients trade for short-lived bearer tokens. It is a
// client of a running `ferry serve`: it calls the API with the static
// token, so it works the same against a daemon in a container, and never
// opens the database another process has open.

// tokenUsage is the command's help text.
const tokenUsage = `Usage: ferry token create NAME | list | delete ID|CLIENT-ID|NAME [flags]

Manages applications: a client id and secret that a script trades for a
bearer token valid 15 minutes (FERRY_ACCESS_TOKEN_TTL on the daemon) at
POST /api/public/v1/applications/token. The secret is shown once, when the
application is created. Deleting an application revokes its tokens.

It talks to a running ferry serve, with the static token from --token,
FERRY_TOKEN or DATA-DIR/token.

Flags:`

// appJSON is the API's application.
type appJSON struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
	CreatedAt    int64  `json:"createdAt"`
}

// apiClient calls the daemon's API with the static token.
type apiClient struct {
	base, token string
	http        *http.Client
}

func runToken(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	baseURL := fs.String("url", cmp.Or(e.getenv("FERRY_URL"), "http://127.0.0.1:8000"), "the API's base URL (env FERRY_URL)")
	token := fs.String("token", e.getenv("FERRY_TOKEN"), "the static API token (env FERRY_TOKEN); default: the token file in --data-dir")
	dataDir := fs.String("data-dir", cmp.Or(e.getenv("FERRY_DATA_DIR"), ".ferry"), "the daemon's data dir, to read its token file (env FERRY_DATA_DIR)")
	asJSON := fs.Bool("json", false, "print the API's JSON")
	fs.Usage = func() { fmt.Fprintln(e.stderr, tokenUsage); fs.PrintDefaults() }
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fs.Usage()
		return &exitError{code: exitUsage}
	}
	verb, rest := pos[0], pos[1:]
	if (verb == "list") != (len(rest) == 0) || len(rest) > 1 || (verb != "create" && verb != "list" && verb != "delete") {
		return usageError("want: create NAME, list, or delete ID|CLIENT-ID|NAME (ferry token -h)")
	}
	if *token == "" {
		b, err := os.ReadFile(filepath.Join(*dataDir, "token"))
		if err != nil {
			return &exitError{code: exitUsage, msg: fmt.Sprintf("no API token: set --token or FERRY_TOKEN, or --data-dir to the daemon's data dir (%v)", err)}
		}
		*token = strings.TrimSpace(string(b))
	}
	c := &apiClient{base: strings.TrimRight(*baseURL, "/"), token: *token, http: &http.Client{Timeout: 30 * time.Second}}
	switch verb {
	case "create":
		return tokenCreate(ctx, e, c, rest[0], *asJSON)
	case "list":
		return tokenList(ctx, e, c, *asJSON)
	}
	return tokenDelete(ctx, e, c, rest[0], *asJSON)
}

func tokenCreate(ctx context.Context, e *env, c *apiClient, name string, asJSON bool) error {
	var a appJSON
	raw, err := c.call(ctx, http.MethodPost, "/applications", map[string]string{"name": name}, &a)
	if err != nil {
		return err
	}
	if asJSON {
		_, err := e.stdout.Write(raw)
		return err
	}
	fmt.Fprintf(e.stdout, "Created application %q.\n\n  application id  %s\n  client id       %s\n  client secret   %s\n\n",
		a.Name, a.ID, a.ClientID, a.ClientSecret)
	fmt.Fprintln(e.stdout, "The client secret is shown only this once: store it now. Trade the pair for a bearer token at")
	fmt.Fprintln(e.stdout, "POST "+c.base+"/api/public/v1/applications/token with clientId and clientSecret.")
	return nil
}

func tokenList(ctx context.Context, e *env, c *apiClient, asJSON bool) error {
	var list struct{ Applications []appJSON }
	raw, err := c.call(ctx, http.MethodGet, "/applications", nil, &list)
	if err != nil {
		return err
	}
	if asJSON {
		_, err := e.stdout.Write(raw)
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tAPPLICATION ID\tCLIENT ID\tCREATED")
	for _, a := range list.Applications {
		created := time.UnixMilli(a.CreatedAt).UTC().Format(time.RFC3339)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.Name, a.ID, a.ClientID, created)
	}
	return tw.Flush()
}

// tokenDelete deletes the application named by its id, its client id or
// its name; a name that several applications share is refused.
func tokenDelete(ctx context.Context, e *env, c *apiClient, which string, asJSON bool) error {
	var list struct{ Applications []appJSON }
	if _, err := c.call(ctx, http.MethodGet, "/applications", nil, &list); err != nil {
		return err
	}
	var match []appJSON
	for _, a := range list.Applications {
		if a.ID == which || a.ClientID == which || a.Name == which {
			match = append(match, a)
		}
	}
	switch len(match) {
	case 0:
		return &exitError{code: exitFailed, msg: fmt.Sprintf("no application with id, client id or name %q", which)}
	case 1:
	default:
		return &exitError{code: exitFailed, msg: fmt.Sprintf("%d applications are named %q: give the application id", len(match), which)}
	}
	raw, err := c.call(ctx, http.MethodDelete, "/applications/"+url.PathEscape(match[0].ID), nil, nil)
	if err != nil {
		return err
	}
	if asJSON {
		_, err := e.stdout.Write(raw)
		return err
	}
	fmt.Fprintf(e.stdout, "Deleted application %q (%s); its tokens no longer work.\n", match[0].Name, match[0].ID)
	return nil
}

// call sends a request to the public API and decodes a 2xx answer into
// out; an error answer becomes an exit error with the API's message.
func (c *apiClient) call(ctx context.Context, method, path string, in, out any) ([]byte, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+"/api/public/v1"+path, body)
	if err != nil {
		return nil, usageError("bad --url %q: %v", c.base, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &exitError{code: exitUnavailable, msg: fmt.Sprintf("cannot reach ferry serve at %s: %v", c.base, errors.Unwrap(err))}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Message string `json:"message"`
			Detail  string `json:"detail"`
		}
		_ = json.Unmarshal(raw, &e)
		return nil, &exitError{code: exitFailed, msg: fmt.Sprintf("%s %s: %d %s", method, path, resp.StatusCode, cmp.Or(e.Message, e.Detail, http.StatusText(resp.StatusCode)))}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return nil, fmt.Errorf("decode the answer to %s %s: %w", method, path, err)
		}
	}
	return raw, nil
}
