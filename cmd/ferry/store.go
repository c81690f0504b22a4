package main

import (
	"cmp"
	"context"

	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/ferrysync/ferry/daemon"
	"github.com/ferrysync/ferry/store"
)

// ferry store copy moves a single-machine install (SQLite in the data dir)
// into an empty PostgreSQL database, for a team that adds replicas. It
// runs with the daemon stopped: it takes the data dir's lock, so a
// ferry serve cannot start meanwhile either.

func init() {
	commands["store"] = command{"copy a SQLite install into an empty PostgreSQL database", runStore}
}

// storeUsage is the command's help text.
const storeUsage = `Usage: ferry store copy (--to URL | --to-file FILE) [flags]

Copies the SQLite database of a stopped ferry serve (DATA-DIR/ferry.db, or
--from) into an empty PostgreSQL database, in one transaction: definitions,
workspaces, sources and destinations, connections, state and its history,
jobs and attempts, applications and tokens, settings. Secrets stay sealed
with the install's key, so every replica on the database must use that same
key file (FERRY_SECRET_KEY_FILE). The SQLite file is not changed.

--to-file reads the URL from a file, so the password is not in the process
list; the password is never printed.

Flags:`

func runStore(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("store", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	dataDir := fs.String("data-dir", cmp.Or(e.getenv("FERRY_DATA_DIR"), ".ferry"), "the install's data dir (env FERRY_DATA_DIR)")
	from := fs.String("from", "", "the SQLite database to copy (default DATA-DIR/ferry.db)")
	to := fs.String("to", "", "the target's postgres:// URL")
	toFile := fs.String("to-file", "", "a file holding the target's postgres:// URL")
	keyFile := fs.String("secret-key-file", e.getenv("FERRY_SECRET_KEY_FILE"), "the secrets key (env FERRY_SECRET_KEY_FILE; default DATA-DIR/secret.key)")
	fs.Usage = func() { fmt.Fprintln(e.stderr, storeUsage); fs.PrintDefaults() }
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "copy" {
		fs.Usage()
		return &exitError{code: exitUsage}
	}
	target, err := copyTarget(*to, *toFile)
	if err != nil {
		return err
	}
	*from = cmp.Or(*from, filepath.Join(*dataDir, "ferry.db"))
	*keyFile = cmp.Or(*keyFile, filepath.Join(*dataDir, store.KeyFileName))
	return storeCopy(ctx, e, *dataDir, *from, target, *keyFile)
}

// copyTarget returns the target URL from --to or --to-file.
func copyTarget(to, toFile string) (string, error) {
	if (to == "") == (toFile == "") {
		return "", usageError("give the target with exactly one of --to and --to-file")
	}
	if toFile != "" {
		b, err := os.ReadFile(toFile)
		if err != nil {
			return "", usageError("--to-file: %v", err)
		}
		to = strings.TrimSpace(string(b))
	}
	if !store.IsDatabaseURL(to) {
		// The text is not echoed: it may be a password put in the wrong place.
		return "", usageError("the target must be a postgres:// or postgresql:// URL")
	}
	return to, nil
}

func storeCopy(ctx context.Context, e *env, dataDir, from, target, keyFile string) error {
	if _, err := os.Stat(from); err != nil {
		// store.Open would create an empty database here.
		return &exitError{code: exitUsage, msg: fmt.Sprintf("no database to copy: %v", err)}
	}
	release, err := daemon.LockDataDir(dataDir)
	if err != nil {
		return &exitError{code: exitFailed, msg: err.Error()}
	}
	defer release()
	key, err := store.LoadKeyFile(keyFile)
	if err != nil {
		return &exitError{code: exitUsage, msg: err.Error()}
	}
	src, err := store.Open(ctx, from, store.WithKey(key))
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := store.Open(ctx, target, store.WithKey(key))
	if err != nil {
		return err
	}
	defer dst.Close()
	res, err := store.Copy(ctx, src, dst)
	if err != nil {
		return err
	}
	return printCopy(e, from, store.RedactURL(target), keyFile, res)
}

func printCopy(e *env, from, target, keyFile string, res *store.CopyResult) error {
	fmt.Fprintf(e.stdout, "Copied %s to %s in one transaction.\n\n", from, target)
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "TABLE\tSOURCE ROWS\tTARGET ROWS\t")
	for _, t := range res.Tables {
		fmt.Fprintf(tw, "%s\t%d\t%d\t\n", t.Table, t.Source, t.Target)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout)
	for _, name := range sortedKeys(res.Skipped) {
		fmt.Fprintf(e.stdout, "Not copied: %s (%s).\n", name, res.Skipped[name])
	}
	for _, name := range sortedKeys(res.NextIDs) {
		fmt.Fprintf(e.stdout, "New %s ids start at %d.\n", name, res.NextIDs[name])
	}
	abs, err := filepath.Abs(keyFile)
	if err != nil {
		abs = keyFile
	}
	fmt.Fprintf(e.stdout, "\nSecrets were copied sealed with the key of fingerprint %s (%s).\n", res.KeyFingerprint, abs)
	fmt.Fprintf(e.stdout, "Every replica on this database must use that key: copy the file to each one and set FERRY_SECRET_KEY_FILE.\n")
	fmt.Fprintln(e.stdout, "Attempt logs stay in this data dir. The SQLite file is unchanged; do not run both installs.")
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
